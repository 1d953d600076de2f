// Profile loading: reads TOML profiles (files or built-ins), resolves includes (depth-limited, cycle
// checked, each profile applied at most once), and applies each table onto a Policy with the merge
// rules of docs/PROFILES.md. Every problem is reported as "FILE:LINE:COL: message".
#include "policy/profile_loader.h"


#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

#include "core/unique_fd.h"
#include "kernel/syscalls.h"
#include "policy/builtin_profile_sources.h"

namespace airlock {

namespace {

constexpr size_t kMaxIncludeDepth = 8;
constexpr size_t kMaxProfileBytes = 1 << 20;
constexpr size_t kMaxErrors = 50;

std::string Location(const std::string& label, const toml::source_region& r) {
  return label + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

std::string TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    default: return "date/time";
  }
}

std::string Normalize(const std::filesystem::path& p) {
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

size_t Depth(const std::string& path) { return static_cast<size_t>(std::count(path.begin(), path.end(), '/')); }

// Collects errors for one profile file; every message gets the file label and position.
class Errors {
 public:
  explicit Errors(std::string label) : label_(std::move(label)) {}
  void Add(const toml::source_region& where, const std::string& message) {
    if (list_.size() < kMaxErrors) list_.push_back(Location(label_, where) + ": " + message);
  }
  void AddRaw(const std::string& message) {
    if (list_.size() < kMaxErrors) list_.push_back(message);
  }
  bool empty() const { return list_.empty(); }
  const std::string& label() const { return label_; }
  std::string Joined() const {
    std::string out;
    for (const std::string& e : list_) out += (out.empty() ? "" : "\n") + e;
    return out;
  }

 private:
  std::string label_;
  std::vector<std::string> list_;
};

// Typed access to one TOML table; remembers which keys were read so Finish() can report the rest.
class Section {
 public:
  Section(const toml::table& t, std::string name, Errors& errors) : t_(t), name_(std::move(name)), errors_(errors) {}

  const toml::node* Get(const char* key) {
    known_.insert(key);
    return t_.get(key);
  }
  std::string Qualified(const char* key) const { return name_.empty() ? key : name_ + "." + key; }
  void TypeError(const toml::node& n, const char* key, const char* expected) {
    errors_.Add(n.source(), "'" + Qualified(key) + "' must be " + expected + ", not " + TypeName(n));
  }

  void Bool(const char* key, bool& out) {
    const toml::node* n = Get(key);
    if (!n) return;
    if (auto v = n->value_exact<bool>()) {
      out = *v;
    } else {
      TypeError(*n, key, "a boolean");
    }
  }
  // Returns the string value or nullptr (absent or wrong type, reported).
  const std::string* String(const char* key) {
    const toml::node* n = Get(key);
    if (!n) return nullptr;
    if (const auto* s = n->as_string()) return &s->get();
    TypeError(*n, key, "a string");
    return nullptr;
  }
  void StringInto(const char* key, std::string& out) {
    if (const std::string* s = String(key)) out = *s;
  }
  std::optional<int64_t> Int(const char* key, int64_t min, int64_t max) {
    const toml::node* n = Get(key);
    if (!n) return std::nullopt;
    const auto* i = n->as_integer();
    if (!i) {
      TypeError(*n, key, "an integer");
      return std::nullopt;
    }
    if (i->get() < min || i->get() > max) {
      errors_.Add(n->source(), "'" + Qualified(key) + "' out of range [" + std::to_string(min) + ", " +
                                   std::to_string(max) + "]: " + std::to_string(i->get()));
      return std::nullopt;
    }
    return i->get();
  }
  // Size as a string ("64m") or a non-negative integer (bytes).
  std::optional<uint64_t> Size(const char* key) {
    const toml::node* n = Get(key);
    if (!n) return std::nullopt;
    if (const auto* i = n->as_integer()) {
      if (i->get() < 0) {
        errors_.Add(n->source(), "'" + Qualified(key) + "' must not be negative");
        return std::nullopt;
      }
      return static_cast<uint64_t>(i->get());
    }
    if (const auto* s = n->as_string()) {
      auto size = ParseSize(s->get());
      if (size) return *size;
      errors_.Add(n->source(), "'" + Qualified(key) + "': " + size.error().message());
      return std::nullopt;
    }
    TypeError(*n, key, "a size string like \"64m\" or an integer");
    return std::nullopt;
  }
  void RequirementInto(const char* key, Requirement& out) {
    const toml::node* n = Get(key);
    if (!n) return;
    const auto* s = n->as_string();
    if (s && s->get() == "required") {
      out = Requirement::kRequired;
    } else if (s && s->get() == "best-effort") {
      out = Requirement::kBestEffort;
    } else if (s && s->get() == "disabled") {
      out = Requirement::kDisabled;
    } else {
      errors_.Add(n->source(), "'" + Qualified(key) + "' must be \"required\", \"best-effort\" or \"disabled\"");
    }
  }
  // Array of strings; nullopt when absent or invalid (reported).
  std::optional<std::vector<std::string>> Strings(const char* key) {
    const toml::node* n = Get(key);
    if (!n) return std::nullopt;
    const auto* a = n->as_array();
    if (!a) {
      TypeError(*n, key, "an array of strings");
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (const toml::node& e : *a) {
      if (const auto* s = e.as_string()) {
        out.push_back(s->get());
      } else {
        errors_.Add(e.source(), "'" + Qualified(key) + "' entries must be strings, not " + TypeName(e));
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }
  const toml::array* Array(const char* key) {
    const toml::node* n = Get(key);
    if (!n) return nullptr;
    if (const auto* a = n->as_array()) return a;
    TypeError(*n, key, "an array");
    return nullptr;
  }
  const toml::table* Table(const char* key) {
    const toml::node* n = Get(key);
    if (!n) return nullptr;
    if (const auto* t = n->as_table()) return t;
    TypeError(*n, key, "a table");
    return nullptr;
  }
  void Finish() {
    for (const auto& [k, v] : t_) {
      if (known_.count(std::string(k.str())) == 0) {
        std::string where = name_.empty() ? "at top level" : "in [" + name_ + "]";
        errors_.Add(k.source(), "unknown key '" + std::string(k.str()) + "' " + where);
      }
    }
  }
  Errors& errors() { return errors_; }
  const std::string& name() const { return name_; }

 private:
  const toml::table& t_;
  std::string name_;
  Errors& errors_;
  std::set<std::string> known_;
};

// Applies one parsed profile table (minus `include`) onto a policy.
class Applier {
 public:
  Applier(Policy& policy, Errors& errors, const std::string& cwd) : p_(policy), errors_(errors), cwd_(cwd) {}

  void Apply(const toml::table& root) {
    Section top(root, "", errors_);
    top.Get("include");  // handled by the loader
    top.String("description");
    if (const auto* t = top.Table("namespaces")) Namespaces(*t);
    if (const auto* t = top.Table("identity")) Identity(*t);
    if (const auto* t = top.Table("filesystem")) Filesystem(*t);
    if (const auto* a = top.Array("mount")) MountList(*a);
    if (const auto* t = top.Table("process")) Process(*t);
    if (const auto* t = top.Table("seccomp")) Seccomp(*t);
    if (const auto* t = top.Table("landlock")) Landlock(*t);
    if (const auto* t = top.Table("network")) Network(*t);
    if (const auto* t = top.Table("limits")) LimitsSection(*t);
    if (const auto* t = top.Table("weaken")) Weaken(*t);
    top.Finish();
  }

 private:
  std::string Origin(const toml::node& n) const {
    return "profile " + errors_.label() + " line " + std::to_string(n.source().begin.line);
  }

  void Namespaces(const toml::table& t) {
    Section s(t, "namespaces", errors_);
    s.Bool("user", p_.ns.user);
    s.Bool("mount", p_.ns.mount);
    s.Bool("pid", p_.ns.pid);
    s.Bool("ipc", p_.ns.ipc);
    s.Bool("uts", p_.ns.uts);
    s.Bool("net", p_.ns.net);
    s.Bool("cgroup", p_.ns.cgroup);
    s.Bool("time", p_.ns.time);
    s.Finish();
  }

  void Identity(const toml::table& t) {
    Section s(t, "identity", errors_);
    constexpr int64_t kMaxId = 4294967294;  // (uid_t)-1 is "no id"
    if (auto v = s.Int("uid", 0, kMaxId)) p_.identity.uid = static_cast<uid_t>(*v);
    if (auto v = s.Int("gid", 0, kMaxId)) p_.identity.gid = static_cast<gid_t>(*v);
    if (auto v = s.Int("outside_uid", 0, kMaxId)) p_.identity.outside_uid_when_root = static_cast<uid_t>(*v);
    if (auto v = s.Int("outside_gid", 0, kMaxId)) p_.identity.outside_gid_when_root = static_cast<gid_t>(*v);
    s.Finish();
  }

  // Host source paths may be relative to the working directory ("." = cwd).
  std::optional<std::string> ResolveSource(const std::string& src, const toml::node& where) {
    if (src.empty()) {
      errors_.Add(where.source(), "empty source path");
      return std::nullopt;
    }
    if (src.front() == '/') return Normalize(src);
    if (cwd_.empty() || cwd_.front() != '/') {
      errors_.Add(where.source(), "relative source '" + src + "' needs an absolute working directory");
      return std::nullopt;
    }
    return Normalize(std::filesystem::path(cwd_) / src);
  }

  // "SRC", "SRC:DST" or {src=, dst=, optional=}.
  void Bind(const toml::node& n, MountEntry::Kind kind, const char* key, std::vector<MountEntry>& out) {
    MountEntry m;
    m.kind = kind;
    m.origin = Origin(n);
    std::string src, dst;
    if (const auto* s = n.as_string()) {
      const std::string& text = s->get();
      size_t colon = text.find(':');
      src = text.substr(0, colon);
      if (colon != std::string::npos) dst = text.substr(colon + 1);
      if (colon != std::string::npos && dst.empty()) {
        errors_.Add(n.source(), std::string("'") + key + "' entry '" + text + "' has an empty destination");
        return;
      }
    } else if (const auto* t = n.as_table()) {
      Section e(*t, std::string("filesystem.") + key, errors_);
      const std::string* s_src = e.String("src");
      const std::string* s_dst = e.String("dst");
      e.Bool("optional", m.optional);
      e.Finish();
      if (!s_src) {
        errors_.Add(n.source(), std::string("'") + key + "' entry needs a 'src'");
        return;
      }
      src = *s_src;
      if (s_dst) dst = *s_dst;
    } else {
      errors_.Add(n.source(), std::string("'") + key + "' entries must be \"SRC\", \"SRC:DST\" or {src=, dst=, optional=}, not " + TypeName(n));
      return;
    }
    auto resolved = ResolveSource(src, n);
    if (!resolved) return;
    m.src = *resolved;
    m.dst = dst.empty() ? m.src : dst;
    out.push_back(std::move(m));
  }

  // "DST" or "DST:SIZE".
  void Tmpfs(const toml::node& n, std::vector<MountEntry>& out) {
    const auto* s = n.as_string();
    if (!s) {
      errors_.Add(n.source(), "'tmpfs' entries must be \"DST\" or \"DST:SIZE\", not " + TypeName(n));
      return;
    }
    MountEntry m;
    m.kind = MountEntry::Kind::kTmpfs;
    m.origin = Origin(n);
    const std::string& text = s->get();
    size_t colon = text.find(':');
    m.dst = text.substr(0, colon);
    if (colon != std::string::npos) {
      auto size = ParseSize(text.substr(colon + 1));
      if (!size) {
        errors_.Add(n.source(), "tmpfs '" + m.dst + "': " + size.error().message());
        return;
      }
      if (*size == 0) {
        errors_.Add(n.source(), "tmpfs '" + m.dst + "': size must be > 0 (omit it for the default)");
        return;
      }
      m.size_bytes = *size;
    }
    out.push_back(std::move(m));
  }

  void TableEntries(Section& s, const char* key, std::vector<MountEntry>& out) {
    const toml::array* a = s.Array(key);
    if (!a) return;
    bool symlink = std::string_view(key) == "symlink";
    for (const toml::node& n : *a) {
      const auto* t = n.as_table();
      if (!t) {
        errors_.Add(n.source(), std::string("'") + key + "' entries must be tables, not " + TypeName(n));
        continue;
      }
      Section e(*t, std::string("filesystem.") + key, errors_);
      MountEntry m;
      m.origin = Origin(n);
      m.kind = symlink ? MountEntry::Kind::kSymlink : MountEntry::Kind::kFile;
      const std::string* first = e.String(symlink ? "target" : "path");
      const std::string* second = e.String(symlink ? "path" : "content");
      e.Finish();
      if (!first || !second) {
        errors_.Add(n.source(), symlink ? "'symlink' entry needs 'target' and 'path'" : "'file' entry needs 'path' and 'content'");
        continue;
      }
      m.src = symlink ? *first : *second;
      m.dst = symlink ? *second : *first;
      out.push_back(std::move(m));
    }
  }

  // A tmpfs size key: kept as written ("64m"), or the integer's decimal bytes; must be > 0.
  void TmpfsSize(Section& s, const char* key, std::string& out) {
    const toml::node* n = s.Get(key);
    if (!n) return;
    auto size = s.Size(key);
    if (!size) return;
    if (*size == 0) {
      errors_.Add(n->source(), "'" + s.Qualified(key) + "' must be > 0");
    } else {
      out = n->is_string() ? *n->value<std::string>() : std::to_string(*size);
    }
  }

  void Filesystem(const toml::table& t) {
    Section s(t, "filesystem", errors_);
    s.Bool("proc", p_.mount_proc);
    s.Bool("dev", p_.mount_dev);
    TmpfsSize(s, "tmp_size", p_.tmp_size);
    TmpfsSize(s, "shm_size", p_.shm_size);
    s.StringInto("home", p_.home);
    TmpfsSize(s, "home_size", p_.home_size);
    if (auto v = s.Int("tmpfs_inodes", 1, INT64_MAX)) p_.tmpfs_inodes = static_cast<uint64_t>(*v);
    if (const std::string* c = s.String("chdir")) p_.chdir = *c;

    std::vector<MountEntry> local;
    const std::pair<const char*, MountEntry::Kind> binds[] = {{"ro_bind", MountEntry::Kind::kRoBind},
                                                              {"bind", MountEntry::Kind::kBind},
                                                              {"dev_bind", MountEntry::Kind::kDevBind}};
    for (const auto& [key, kind] : binds) {
      if (const toml::array* a = s.Array(key)) {
        for (const toml::node& n : *a) Bind(n, kind, key, local);
      }
    }
    bool workdir = false;
    s.Bool("workdir", workdir);
    if (workdir) {
      if (cwd_.empty() || cwd_.front() != '/') {
        errors_.Add(t.get("workdir")->source(), "'filesystem.workdir' needs an absolute working directory");
      } else {
        MountEntry m;
        m.kind = MountEntry::Kind::kBind;
        m.src = m.dst = Normalize(cwd_);
        m.origin = Origin(*t.get("workdir")) + " (workdir)";
        p_.chdir = m.dst;
        local.push_back(std::move(m));
      }
    }
    if (const toml::array* a = s.Array("tmpfs")) {
      for (const toml::node& n : *a) Tmpfs(n, local);
    }
    if (const toml::array* a = s.Array("dir")) {
      for (const toml::node& n : *a) {
        if (const auto* str = n.as_string()) {
          MountEntry m;
          m.kind = MountEntry::Kind::kDir;
          m.dst = str->get();
          m.origin = Origin(n);
          local.push_back(std::move(m));
        } else {
          errors_.Add(n.source(), "'dir' entries must be strings, not " + TypeName(n));
        }
      }
    }
    TableEntries(s, "symlink", local);
    TableEntries(s, "file", local);
    s.Finish();
    // Parents before children: within one profile, entries are ordered by destination depth.
    std::stable_sort(local.begin(), local.end(),
                     [](const MountEntry& a, const MountEntry& b) { return Depth(a.dst) < Depth(b.dst); });
    for (MountEntry& m : local) p_.mounts.push_back(std::move(m));
  }

  // [[mount]] entries: applied in written order, after this profile's [filesystem] entries.
  void MountList(const toml::array& a) {
    for (const toml::node& n : a) {
      const auto* t = n.as_table();
      if (!t) {
        errors_.Add(n.source(), "'mount' entries must be tables, not " + TypeName(n));
        continue;
      }
      Section e(*t, "mount", errors_);
      const std::string* type = e.String("type");
      const std::string* src = e.String("src");
      const std::string* dst = e.String("dst");
      const std::string* content = e.String("content");
      const std::string* layer = e.String("layer");
      std::optional<uint64_t> size = e.Size("size");
      MountEntry m;
      e.Bool("optional", m.optional);
      e.Bool("fuse", m.fuse);
      e.Finish();
      m.origin = Origin(n);
      static const std::pair<const char*, MountEntry::Kind> kTypes[] = {
          {"bind", MountEntry::Kind::kBind},   {"ro-bind", MountEntry::Kind::kRoBind},
          {"dev-bind", MountEntry::Kind::kDevBind}, {"tmpfs", MountEntry::Kind::kTmpfs},
          {"dir", MountEntry::Kind::kDir},     {"symlink", MountEntry::Kind::kSymlink},
          {"file", MountEntry::Kind::kFile},   {"overlay", MountEntry::Kind::kOverlay}};
      bool found = false;
      for (const auto& [name, kind] : kTypes) {
        if (type && *type == name) {
          m.kind = kind;
          found = true;
        }
      }
      if (!found) {
        errors_.Add(n.source(), "'mount' entry needs type = bind, ro-bind, dev-bind, tmpfs, dir, symlink, file or overlay");
        continue;
      }
      if (!dst) {
        errors_.Add(n.source(), "'mount' entry needs a 'dst'");
        continue;
      }
      m.dst = *dst;
      bool is_bind = m.kind == MountEntry::Kind::kBind || m.kind == MountEntry::Kind::kRoBind ||
                     m.kind == MountEntry::Kind::kDevBind || m.kind == MountEntry::Kind::kOverlay;
      if ((m.kind == MountEntry::Kind::kOverlay) != (layer != nullptr)) {
        errors_.Add(n.source(), m.kind == MountEntry::Kind::kOverlay ? "'mount' entry of type overlay needs a 'layer' (a directory for its upper/ and work/)"
                                                                     : "'mount.layer' is only for type overlay");
        continue;
      }
      if (m.fuse && m.kind != MountEntry::Kind::kOverlay) {
        errors_.Add(n.source(), "'mount.fuse' is only for type overlay");
        continue;
      }
      if (layer) {
        auto resolved = ResolveSource(*layer, n);
        if (!resolved) continue;
        m.layer = *resolved;
      }
      if (is_bind || m.kind == MountEntry::Kind::kSymlink) {
        if (!src) {
          errors_.Add(n.source(), "'mount' entry of type " + *type + " needs a 'src'");
          continue;
        }
        m.src = *src;
        if (is_bind) {
          auto resolved = ResolveSource(*src, n);
          if (!resolved) continue;
          m.src = *resolved;
        }
      }
      if (m.kind == MountEntry::Kind::kFile) {
        if (!content) {
          errors_.Add(n.source(), "'mount' entry of type file needs a 'content'");
          continue;
        }
        m.src = *content;
      }
      if (size) {
        if (m.kind != MountEntry::Kind::kTmpfs || *size == 0) {
          errors_.Add(n.source(), "'mount.size' is only for tmpfs and must be > 0");
          continue;
        }
        m.size_bytes = *size;
      }
      p_.mounts.push_back(std::move(m));
    }
  }

  void Process(const toml::table& t) {
    Section s(t, "process", errors_);
    s.StringInto("hostname", p_.hostname);
    s.Bool("new_session", p_.new_session);
    s.Bool("die_with_parent", p_.die_with_parent);
    s.Bool("new_keyring", p_.new_keyring);
    s.Bool("host_terminal", p_.host_terminal);
    if (auto keep = s.Strings("env_keep")) p_.env_keep = std::move(*keep);
    if (const toml::table* env = s.Table("env")) {
      for (const auto& [k, v] : *env) {
        if (const auto* str = v.as_string()) {
          p_.env_set[std::string(k.str())] = str->get();
        } else {
          errors_.Add(v.source(), "'process.env." + std::string(k.str()) + "' must be a string, not " + TypeName(v));
        }
      }
    }
    if (const toml::array* fds = s.Array("pass_fds")) {
      for (const toml::node& n : *fds) {
        const auto* i = n.as_integer();
        if (!i || i->get() < 0 || i->get() > INT_MAX) {
          errors_.Add(n.source(), "'process.pass_fds' entries must be non-negative integers");
          continue;
        }
        int fd = static_cast<int>(i->get());
        if (std::find(p_.pass_fds.begin(), p_.pass_fds.end(), fd) == p_.pass_fds.end()) p_.pass_fds.push_back(fd);
      }
    }
    s.Finish();
  }

  void Seccomp(const toml::table& t) {
    Section s(t, "seccomp", errors_);
    s.RequirementInto("mode", p_.seccomp.requirement);
    s.StringInto("base", p_.seccomp.base);
    if (auto v = s.Strings("allow")) p_.seccomp.allow.insert(p_.seccomp.allow.end(), v->begin(), v->end());
    if (auto v = s.Strings("deny")) p_.seccomp.deny.insert(p_.seccomp.deny.end(), v->begin(), v->end());
    s.Bool("count_denials", p_.seccomp.count_denials);
    s.Finish();
  }

  void Landlock(const toml::table& t) {
    Section s(t, "landlock", errors_);
    s.RequirementInto("mode", p_.landlock.requirement);
    if (auto v = s.Int("min_abi", INT_MIN, INT_MAX)) p_.landlock.min_abi = static_cast<int>(*v);
    s.Finish();
  }

  void Network(const toml::table& t) {
    Section s(t, "network", errors_);
    if (const toml::node* n = s.Get("mode")) {
      const auto* str = n->as_string();
      if (str && str->get() == "none") {
        p_.net.mode = NetMode::kNone;
      } else if (str && str->get() == "host") {
        p_.net.mode = NetMode::kHost;
      } else if (str && str->get() == "user") {
        p_.net.mode = NetMode::kUser;
      } else if (str && str->get() == "sinkhole") {
        p_.net.mode = NetMode::kSinkhole;
      } else {
        errors_.Add(n->source(), "'network.mode' must be \"none\", \"host\", \"user\" or \"sinkhole\"");
      }
    }
    if (auto v = s.Strings("allow")) p_.net.allow = std::move(*v);
    if (const toml::array* ports = s.Array("listen")) {
      p_.net.listen.clear();
      for (const toml::node& n : *ports) {
        auto port = n.value<int64_t>();
        if (!n.is_integer() || !port || *port < 1 || *port > 65535) {
          errors_.Add(n.source(), "'network.listen' entries must be TCP port numbers (1-65535)");
          continue;
        }
        if (std::find(p_.net.listen.begin(), p_.net.listen.end(), int(*port)) == p_.net.listen.end()) p_.net.listen.push_back(int(*port));
      }
    }
    s.Finish();
  }

  // "N", "SOFT:HARD", "unlimited", sizes like "64m", or an integer.
  std::optional<uint64_t> RlimitValue(const std::string& text) {
    if (text == "unlimited" || text == "infinity") return RLIM_INFINITY;
    auto v = ParseSize(text);
    if (!v) return std::nullopt;
    return *v;
  }

  void Rlimits(const toml::table& t) {
    for (const auto& [k, v] : t) {
      RlimitEntry r;
      r.name = std::string(k.str());
      bool ok = true;
      if (const auto* i = v.as_integer()) {
        ok = i->get() >= 0;
        r.soft = r.hard = static_cast<uint64_t>(i->get());
      } else if (const auto* s = v.as_string()) {
        const std::string& text = s->get();
        size_t colon = text.find(':');
        auto soft = RlimitValue(text.substr(0, colon));
        auto hard = colon == std::string::npos ? soft : RlimitValue(text.substr(colon + 1));
        ok = soft && hard;
        if (ok) {
          r.soft = *soft;
          r.hard = *hard;
        }
      } else {
        ok = false;
      }
      if (!ok) {
        errors_.Add(v.source(), "'limits.rlimits." + r.name + "' must be a count, size, \"SOFT:HARD\" or \"unlimited\"");
        continue;
      }
      auto same = std::find_if(p_.limits.rlimits.begin(), p_.limits.rlimits.end(),
                               [&](const RlimitEntry& e) { return e.name == r.name; });
      if (same != p_.limits.rlimits.end()) {
        *same = r;  // an including profile overrides the same resource
      } else {
        p_.limits.rlimits.push_back(r);
      }
    }
  }

  // limits.memory: bytes, or a string for ParseMemoryLimit ("512m", "25%", "min(25%, 4g)", "unlimited").
  void MemoryLimit(Section& s) {
    const toml::node* n = s.Get("memory");
    if (!n) return;
    if (const auto* i = n->as_integer()) {
      if (i->get() < 0) {
        errors_.Add(n->source(), "'limits.memory' must not be negative");
      } else {
        p_.limits.memory_bytes = static_cast<uint64_t>(i->get());
      }
    } else if (const auto* str = n->as_string()) {
      auto v = ParseMemoryLimit(str->get());
      if (v) {
        p_.limits.memory_bytes = *v;
      } else {
        errors_.Add(n->source(), "'limits.memory': " + v.error().message());
      }
    } else {
      s.TypeError(*n, "memory", "a size like \"512m\", \"25%\", \"min(25%, 4g)\", \"unlimited\" or an integer");
    }
  }

  // limits.pids: an integer or "unlimited".
  void PidsLimit(Section& s) {
    const toml::node* n = s.Get("pids");
    if (!n) return;
    if (const auto* str = n->as_string(); str && str->get() == "unlimited") {
      p_.limits.pids = std::nullopt;
    } else if (auto v = s.Int("pids", 0, INT64_MAX)) {
      p_.limits.pids = static_cast<uint64_t>(*v);
    }
  }

  void LimitsSection(const toml::table& t) {
    Section s(t, "limits", errors_);
    MemoryLimit(s);
    PidsLimit(s);
    if (const toml::node* n = s.Get("cpus")) {
      if (auto d = n->value<double>(); d && (n->is_floating_point() || n->is_integer())) {
        p_.limits.cpus = *d;
      } else {
        s.TypeError(*n, "cpus", "a number");
      }
    }
    if (const toml::node* n = s.Get("timeout")) {
      if (const auto* i = n->as_integer()) {
        if (i->get() < 0 || i->get() > (int64_t{1} << 40)) {
          errors_.Add(n->source(), "'limits.timeout' out of range");
        } else {
          p_.limits.timeout = std::chrono::seconds(i->get());
        }
      } else if (const auto* str = n->as_string()) {
        auto d = ParseDuration(str->get());
        if (d) {
          p_.limits.timeout = *d;
        } else {
          errors_.Add(n->source(), "'limits.timeout': " + d.error().message());
        }
      } else {
        s.TypeError(*n, "timeout", "a duration like \"30s\" or an integer (seconds)");
      }
    }
    s.RequirementInto("cgroup", p_.limits.cgroup);
    if (const toml::table* r = s.Table("rlimits")) Rlimits(*r);
    s.Finish();
  }

  void Weaken(const toml::table& t) {
    Section s(t, "weaken", errors_);
    s.Bool("nested_userns", p_.allow_nested_userns);
    s.Bool("keep_capabilities", p_.keep_capabilities);
    s.Finish();
  }

  Policy& p_;
  Errors& errors_;
  const std::string& cwd_;
};

// A profile file read once: its text and its identity (device and inode: include-once and cycles).
struct ProfileFile {
  std::string text;
  std::string id;
};

// Reads an opened profile: a regular file (a FIFO or device never blocks) of at most 1 MiB.
Result<ProfileFile> ReadOpenedProfile(const UniqueFd& fd, const std::string& label) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat " + label);
  if (!S_ISREG(st.st_mode)) return MakeError(label + ": not a regular file");
  ProfileFile file;
  file.id = "file:" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + label);
    if (n == 0) break;
    file.text.append(buf, static_cast<size_t>(n));
    if (file.text.size() > kMaxProfileBytes) return MakeError(label + ": profile larger than 1 MiB");
  }
  return file;
}

constexpr int kProfileOpenFlags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

// The profile the caller named (any path: the caller's own choice).
Result<ProfileFile> ReadProfileFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), kProfileOpenFlags));
  if (!fd) return ErrnoError("open " + path);
  return ReadOpenedProfile(fd, path);
}

// The profile directories an include may also name a file of, after the including profile's own:
// $XDG_CONFIG_HOME/airlock/profiles (default ~/.config/airlock/profiles), then /etc/airlock/profiles.
std::vector<std::string> ProfileSearchDirs() {
  std::vector<std::string> dirs;
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  if (xdg != nullptr && xdg[0] == '/') {
    dirs.push_back(Normalize(std::string(xdg) + "/airlock/profiles"));
  } else if (home != nullptr && home[0] == '/') {
    dirs.push_back(Normalize(std::string(home) + "/.config/airlock/profiles"));
  }
  dirs.push_back("/etc/airlock/profiles");
  return dirs;
}

// Opens `ref` beneath `dir` as the kernel resolves it, never following a symlink and never leaving
// `dir` ('..' that climbs above it fails with EXDEV). Errors keep errno.
Result<UniqueFd> OpenBeneath(const std::string& dir, const std::string& ref) {
  UniqueFd d(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!d) return ErrnoError(dir);
  UniqueFd fd(kernel::Openat2(d.get(), ref.c_str(), kProfileOpenFlags, 0,
                              RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS));
  if (!fd) return ErrnoError(Normalize(std::filesystem::path(dir) / ref));
  return fd;
}

// Why an include entry names no file it may: an absolute path, no .toml suffix. "" if its form is fine.
std::string IncludeFormProblem(const std::string& ref) {
  if (!ref.empty() && ref[0] == '/') return "absolute paths cannot be included";
  if (ref.size() < 6 || ref.compare(ref.size() - 5, 5, ".toml") != 0) return "an included file must end in .toml";
  return "";
}

// A syntax error of toml++ without the text it quotes (an included file's content never reaches an
// error message): the part after ", saw" goes, and a quoted span stays only if it is one punctuation
// character of the grammar ('=', ']'...); any other is replaced by "...".
std::string ContentFreeDescription(std::string_view d) {
  if (size_t saw = d.find(", saw"); saw != std::string_view::npos) d = d.substr(0, saw);
  std::string out;
  for (size_t i = 0; i < d.size(); ++i) {
    const char c = d[i];
    if (c != '\'' && c != '"' && c != '`') {
      out += c;
      continue;
    }
    size_t end = d.find(c, i + 1);
    if (end == std::string_view::npos) break;  // an unbalanced quote: nothing after it
    std::string_view inner = d.substr(i + 1, end - i - 1);
    bool token = inner.size() == 1 && std::ispunct(static_cast<unsigned char>(inner[0]));
    out += token ? std::string(d.substr(i, end - i + 1)) : std::string("...");
    i = end;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ':' || out.back() == ',')) out.pop_back();
  return out.empty() ? "not valid TOML" : "not valid TOML: " + out;
}

bool IsPathRef(const std::string& ref) {
  return ref.find('/') != std::string::npos ||
         (ref.size() >= 5 && ref.compare(ref.size() - 5, 5, ".toml") == 0);
}

const builtin_profiles::Source* FindBuiltin(const std::string& name) {
  for (size_t i = 0; i < builtin_profiles::kCount; ++i) {
    if (name == builtin_profiles::kSources[i].name) return &builtin_profiles::kSources[i];
  }
  return nullptr;
}

std::string BuiltinNames() {
  std::string out;
  for (size_t i = 0; i < builtin_profiles::kCount; ++i) out += (out.empty() ? "" : ", ") + std::string(builtin_profiles::kSources[i].name);
  return out;
}

// One profile document to apply: where it came from and how its includes resolve.
struct Doc {
  std::string label;     // in error messages: file path, or "builtin/NAME.toml"
  std::string id;        // identity for cycle detection and include-once
  std::string base_dir;  // includes resolve beneath this directory first (docs/PROFILES.md "Includes")
  bool builtin = false;
};

class Loader {
 public:
  explicit Loader(std::string cwd) : cwd_(std::move(cwd)) {}

  // Resolves `ref` (built-in name or path) seen in `from` (nullptr for the top level) and applies it.
  Status ApplyRef(const std::string& ref, const Doc* from, const std::string& where, Policy& policy) {
    std::string prefix = where.empty() ? "" : where + ": ";
    Doc doc;
    std::string text;
    if (IsPathRef(ref)) {
      if (from && from->builtin) return MakeError(prefix + "built-in profiles can only include built-in profiles");
      auto file = from ? ReadInclude(ref, *from, prefix, doc) : ReadTopLevel(ref, doc);
      if (!file && !from) return std::unexpected(Error("cannot load profile '" + ref + "': " + file.error().What()));
      if (!file) return std::unexpected(file.error());
      doc.id = file->id;
      if (Skip(doc)) return Ok();
      if (auto guard = CheckStack(doc, prefix); !guard) return guard;
      text = std::move(file->text);
    } else {
      const builtin_profiles::Source* b = FindBuiltin(ref);
      if (!b) return MakeError(prefix + "unknown profile '" + ref + "' (built-ins: " + BuiltinNames() + "; paths contain '/' or end in .toml)");
      doc.label = "builtin/" + ref + ".toml";
      doc.id = "builtin:" + ref;
      doc.builtin = true;
      if (Skip(doc)) return Ok();
      if (auto guard = CheckStack(doc, prefix); !guard) return guard;
      text = b->toml;
    }
    return ApplyDoc(text, doc, policy);
  }

  Status ApplyDoc(const std::string& text, const Doc& doc, Policy& policy) {
    if (auto guard = CheckStack(doc, ""); !guard) return guard;
    toml::table root;
    try {
      root = toml::parse(text, doc.label);
    } catch (const toml::parse_error& e) {
      return MakeError(Location(doc.label, e.source()) + ": " + ContentFreeDescription(e.description()));
    }
    stack_.push_back(doc);
    Errors errors(doc.label);
    if (const toml::node* inc = root.get("include")) {
      std::vector<const toml::node*> refs;
      if (inc->is_string()) {
        refs.push_back(inc);
      } else if (const auto* a = inc->as_array()) {
        for (const toml::node& n : *a) refs.push_back(&n);
      } else {
        errors.Add(inc->source(), "'include' must be an array of profile names or paths");
      }
      for (const toml::node* n : refs) {
        const auto* s = n->as_string();
        if (!s) {
          errors.Add(n->source(), "'include' entries must be strings, not " + TypeName(*n));
          continue;
        }
        auto applied = ApplyRef(s->get(), &stack_.back(), Location(doc.label, n->source()), policy);
        if (!applied) {
          stack_.pop_back();
          return applied;
        }
      }
    }
    Applier(policy, errors, cwd_).Apply(root);
    stack_.pop_back();
    if (!errors.empty()) return MakeError(errors.Joined());
    applied_.insert(doc.id);
    policy.sources.push_back(doc.builtin ? doc.id : doc.label);
    return Ok();
  }

 private:
  // The profile the caller named: any path, relative to the working directory.
  Result<ProfileFile> ReadTopLevel(const std::string& ref, Doc& doc) const {
    std::filesystem::path path(ref);
    if (path.is_relative()) path = std::filesystem::path(cwd_) / path;
    doc.label = Normalize(path);
    doc.base_dir = Normalize(path.parent_path());
    return ReadProfileFile(doc.label);
  }

  // An include: a .toml file beneath the including profile's directory, else beneath one of the
  // profile directories, reached without following symlinks or climbing out ('..'). Never any
  // other readable file (a profile written by someone else must not make airlock read /etc/shadow).
  Result<ProfileFile> ReadInclude(const std::string& ref, const Doc& from, const std::string& prefix, Doc& doc) const {
    const std::string fail = prefix + "cannot include '" + ref + "': ";
    if (std::string problem = IncludeFormProblem(ref); !problem.empty()) {
      return MakeError(fail + problem + " (name a .toml file relative to this profile's directory or in a profile "
                                        "directory; see docs/PROFILES.md)");
    }
    std::vector<std::string> dirs = ProfileSearchDirs();
    dirs.insert(dirs.begin(), from.base_dir.empty() ? cwd_ : from.base_dir);
    for (const std::string& dir : dirs) {
      auto fd = OpenBeneath(dir, ref);
      if (!fd && fd.error().err() == ENOENT) continue;
      if (!fd && fd.error().err() == EXDEV) return MakeError(fail + "it leads out of " + dir + " ('..' above the profile's directory)");
      if (!fd && fd.error().err() == ELOOP) return MakeError(fail + "a symlink on the way (includes never follow symlinks)");
      if (!fd) return std::unexpected(Error(fail + fd.error().What()));
      std::filesystem::path path = std::filesystem::path(dir) / ref;
      doc.label = Normalize(path);
      doc.base_dir = Normalize(path.parent_path());
      auto file = ReadOpenedProfile(*fd, doc.label);
      if (!file) return std::unexpected(Error(fail + file.error().What()));
      return file;
    }
    std::string looked;
    for (size_t i = 1; i < dirs.size(); ++i) looked += (i > 1 ? ", " : "") + dirs[i];
    return MakeError(fail + Normalize(std::filesystem::path(dirs[0]) / ref) + ": " + std::strerror(ENOENT) +
                     " (nor in " + looked + ")");
  }

  // Include-once: a profile reached twice (diamond includes) is applied only the first time.
  bool Skip(const Doc& doc) const { return applied_.count(doc.id) != 0; }

  Status CheckStack(const Doc& doc, const std::string& prefix) const {
    for (const Doc& d : stack_) {
      if (d.id == doc.id) {
        std::string chain;
        for (const Doc& s : stack_) chain += s.label + " -> ";
        return MakeError(prefix + "include cycle: " + chain + doc.label);
      }
    }
    if (stack_.size() >= kMaxIncludeDepth) {
      return MakeError(prefix + "includes nested deeper than " + std::to_string(kMaxIncludeDepth) + " levels");
    }
    return Ok();
  }

  std::string cwd_;
  std::vector<Doc> stack_;
  std::set<std::string> applied_;
};

Policy EmptyPolicy(const std::string& name) {
  Policy p;
  p.name = name;
  p.sources.clear();
  return p;
}

}  // namespace

std::vector<std::pair<std::string_view, std::string_view>> BuiltinProfileSources() {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  for (size_t i = 0; i < builtin_profiles::kCount; ++i) out.emplace_back(builtin_profiles::kSources[i].name, builtin_profiles::kSources[i].toml);
  return out;
}

const std::vector<BuiltinProfile>& BuiltinProfiles() {
  static const std::vector<BuiltinProfile> kProfiles = [] {
    std::vector<BuiltinProfile> out;
    for (const auto& [name, toml] : BuiltinProfileSources()) {
      BuiltinProfile b;
      b.name = name;
      b.toml = toml;
      try {
        toml::table t = toml::parse(b.toml, b.name);
        b.description = t["description"].value_or(std::string());
      } catch (const toml::parse_error&) {
        b.description = "(does not parse)";
      }
      out.push_back(std::move(b));
    }
    return out;
  }();
  return kProfiles;
}

Result<Policy> LoadProfile(const std::string& name_or_path, const std::string& cwd) {
  std::string name = IsPathRef(name_or_path) ? std::filesystem::path(name_or_path).stem().string() : name_or_path;
  Policy policy = EmptyPolicy(name);
  Loader loader(cwd);
  auto status = loader.ApplyRef(name_or_path, nullptr, "", policy);
  if (!status) return std::unexpected(std::move(status.error()));
  return policy;
}

Result<Policy> LoadProfileFromString(const std::string& toml, const std::string& origin, const std::string& cwd) {
  Policy policy = EmptyPolicy(origin);
  Doc doc;
  doc.label = origin;
  doc.id = "string:" + origin;
  if (origin.find('/') != std::string::npos) {
    std::filesystem::path path(origin);
    if (path.is_relative()) path = std::filesystem::path(cwd) / path;
    doc.base_dir = Normalize(path.parent_path());
  } else {
    doc.base_dir = cwd;
  }
  if (toml.size() > kMaxProfileBytes) return MakeError(origin + ": profile larger than 1 MiB");
  Loader loader(cwd);
  auto status = loader.ApplyDoc(toml, doc, policy);
  if (!status) return std::unexpected(std::move(status.error()));
  return policy;
}

Result<HostIds> SandboxHostIds(const std::string& profile) {
  if (::geteuid() != 0) return HostIds{::geteuid(), ::getegid()};
  auto policy = LoadProfile(profile, "/");
  if (!policy) return std::unexpected(std::move(policy.error()).WithContext("profile " + profile));
  return HostIds{policy->identity.outside_uid_when_root, policy->identity.outside_gid_when_root};
}

}  // namespace airlock
