// ExplainPolicy: the effective policy as a readable table, one section per layer, with every
// weakening repeated on its own "WEAKENED:" line so it cannot be missed.
#include <fmt/format.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "policy/policy.h"

namespace airlock {
namespace {

const char* YesNo(bool b) { return b ? "yes" : "no"; }

std::string Join(const std::vector<std::string>& items, const char* empty) {
  if (items.empty()) return empty;
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string Bytes(uint64_t b) {
  static const char* kUnits[] = {"", "k", "m", "g", "t"};
  int unit = 0;
  while (unit < 4 && b != 0 && b % 1024 == 0) {
    b /= 1024;
    ++unit;
  }
  return std::to_string(b) + kUnits[unit];
}

std::string Escape(const std::string& s, size_t max = 40) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out;
}

class Table {
 public:
  void Section(const std::string& name) { out_ += "\n[" + name + "]\n"; }
  void Row(const std::string& key, const std::string& value) { out_ += fmt::format("  {:<18} {}\n", key, value); }
  void Weakened(const std::string& what) {
    out_ += "  WEAKENED: " + what + "\n";
    weakenings_.push_back(what);
  }
  std::string Finish() {
    std::string summary = fmt::format("\n[summary]\n  {} weakening(s)\n", weakenings_.size());
    for (const std::string& w : weakenings_) summary += "  WEAKENED: " + w + "\n";
    return out_ + summary;
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
  std::vector<std::string> weakenings_;
};

void ExplainMounts(const Policy& p, const std::vector<std::string>& notes, Table& t) {
  t.Section("filesystem");
  t.Row("/proc", p.mount_proc ? "fresh procfs for the sandbox pid namespace" : "not mounted");
  t.Row("/dev", p.mount_dev ? "minimal private /dev (device nodes only)" : "not mounted");
  t.Row("/tmp", "private tmpfs, size " + p.tmp_size);
  if (p.mount_dev) t.Row("/dev/shm", "private tmpfs, size " + p.shm_size);
  t.Row("/etc ids", "passwd, group, hosts generated for the inside ids and hostname (unless a file entry replaces them)");
  t.Row("home", p.home.empty() ? "(none)" : p.home);
  if (!p.home.empty()) t.Row("home size", "private tmpfs, size " + p.home_size);
  t.Row("tmpfs inodes", fmt::format("{} per writable tmpfs (/tmp, /dev/shm, home, tmpfs mounts)", p.tmpfs_inodes));
  t.Row("chdir", p.chdir ? *p.chdir : "(home)");
  int n = 0;
  for (const MountEntry& m : p.mounts) {
    ++n;
    std::string line;
    switch (m.kind) {
      case MountEntry::Kind::kBind: line = fmt::format("rw  bind    {} <- {}", m.dst, m.src); break;
      case MountEntry::Kind::kRoBind: line = fmt::format("ro  bind    {} <- {}", m.dst, m.src); break;
      case MountEntry::Kind::kDevBind: line = fmt::format("rw  dev     {} <- {}", m.dst, m.src); break;
      case MountEntry::Kind::kTmpfs:
        line = fmt::format("rw  tmpfs   {} size {}", m.dst, m.size_bytes ? Bytes(m.size_bytes) : p.tmp_size + " (tmp_size)");
        break;
      case MountEntry::Kind::kDir: line = fmt::format("rw  dir     {}", m.dst); break;
      case MountEntry::Kind::kSymlink: line = fmt::format("    symlink {} -> {}", m.dst, m.src); break;
      case MountEntry::Kind::kFile: line = fmt::format("ro  file    {} \"{}\"", m.dst, Escape(m.src)); break;
      case MountEntry::Kind::kOverlay: line = fmt::format("cow overlay {} <- {} (changes in {}{})", m.dst, m.src, m.layer, m.fuse ? ", fuse-overlayfs" : ""); break;
    }
    if (m.optional) line += "  (optional)";
    if (!m.origin.empty()) line += "  [" + m.origin + "]";
    t.Row(fmt::format("mount {:>2}", n), line);
    if (static_cast<size_t>(n) <= notes.size() && !notes[static_cast<size_t>(n) - 1].empty()) {
      t.Row("", "    " + notes[static_cast<size_t>(n) - 1]);
    }
    if (m.kind == MountEntry::Kind::kBind) t.Weakened(fmt::format("host path {} is writable inside at {}", m.src, m.dst));
    if (m.kind == MountEntry::Kind::kDevBind) t.Weakened(fmt::format("host device path {} exposed at {}", m.src, m.dst));
  }
  if (p.mounts.empty()) t.Row("mounts", "(none besides the root skeleton)");
}

}  // namespace

std::string ExplainPolicy(const Policy& p, const std::vector<std::string>& mount_notes) {
  Table t;
  t.out() = fmt::format("policy {} (from {})\n", p.name, Join(p.sources, "built-in defaults"));

  t.Section("namespaces");
  const std::pair<const char*, bool> ns[] = {{"user", p.ns.user}, {"mount", p.ns.mount}, {"pid", p.ns.pid},
                                             {"ipc", p.ns.ipc},   {"uts", p.ns.uts},     {"net", p.ns.net},
                                             {"cgroup", p.ns.cgroup}, {"time", p.ns.time}};
  for (const auto& [name, on] : ns) {
    t.Row(name, on ? "new" : "shared with host");
    if (!on && std::string(name) != "time") t.Weakened(fmt::format("{} namespace shared with the host", name));
  }

  t.Section("identity");
  t.Row("uid inside", p.identity.uid ? std::to_string(*p.identity.uid) : "caller's uid");
  t.Row("gid inside", p.identity.gid ? std::to_string(*p.identity.gid) : "caller's gid");
  t.Row("outside (as root)", fmt::format("{}:{}", p.identity.outside_uid_when_root, p.identity.outside_gid_when_root));
  if (p.identity.outside_uid_when_root == 0 || p.identity.outside_gid_when_root == 0) {
    t.Weakened("sandbox maps to host root when airlock runs as root");
  }
  if (p.allow_nested_userns) t.Weakened("nested user namespaces allowed (weaken.nested_userns)");
  if (p.keep_capabilities) t.Weakened("capabilities kept inside the user namespace (weaken.keep_capabilities)");

  ExplainMounts(p, mount_notes, t);

  t.Section("process");
  t.Row("hostname", p.hostname.empty() ? "(unchanged)" : p.hostname);
  t.Row("new_session", YesNo(p.new_session));
  t.Row("die_with_parent", YesNo(p.die_with_parent));
  t.Row("new_keyring", YesNo(p.new_keyring));
  std::vector<std::string> fds;
  for (int fd : p.pass_fds) fds.push_back(std::to_string(fd));
  t.Row("pass_fds", Join(fds, "(none)"));
  t.Row("host_terminal", p.host_terminal ? "yes (the caller's terminal itself)" : "no (a pseudo-terminal of its own)");
  t.Row("env_keep", Join(p.env_keep, "(none)"));
  for (const auto& [k, v] : p.env_set) t.Row("env", k + "=" + Escape(v));
  if (!p.new_session) t.Weakened("no new session: the sandbox shares the terminal (TIOCSTI injection)");
  if (!p.new_keyring) t.Weakened("session keyring shared with the caller");
  if (!p.die_with_parent) t.Weakened("sandbox survives the death of airlock");
  if (p.host_terminal) {
    t.Weakened("host_terminal: the sandbox gets your terminal itself (it can read what you type and leave its modes changed)");
  }

  t.Section("seccomp");
  t.Row("mode", RequirementName(p.seccomp.requirement));
  t.Row("base", p.seccomp.base);
  t.Row("allowed back", Join(p.seccomp.allow, "(none)"));
  t.Row("denied extra", Join(p.seccomp.deny, "(none)"));
  t.Row("count denials", YesNo(p.seccomp.count_denials));
  if (p.seccomp.requirement == Requirement::kDisabled) t.Weakened("seccomp filter disabled");
  if (p.seccomp.requirement == Requirement::kBestEffort) t.Weakened("seccomp only best-effort");
  for (const std::string& a : p.seccomp.allow) t.Weakened("seccomp allows back " + a);

  t.Section("landlock");
  t.Row("mode", RequirementName(p.landlock.requirement));
  t.Row("min abi", std::to_string(p.landlock.min_abi));
  if (p.landlock.requirement == Requirement::kDisabled) t.Weakened("landlock disabled");

  t.Section("network");
  t.Row("mode", NetModeName(p.net.mode));
  // Also when set without mode "user" (which ValidatePolicy rejects): every field shows.
  if (p.net.mode == NetMode::kUser || !p.net.allow.empty()) t.Row("allow", Join(p.net.allow, "any destination"));
  if (p.net.mode == NetMode::kUser && !p.net.allow.empty()) {
    t.Row("allow enforced", "nftables in the sandbox's netns (names resolved once at start)");
    t.Row("dns", "airlock's resolver at 127.0.0.1: allowed names only, others refused and counted");
  }
  if (p.net.mode == NetMode::kUser) {
    t.Row("host addresses", "every address of the host's interfaces refused (unless an allow entry names it)");
    t.Row("helper", "pasta/slirp4netns as the sandbox's user, in its own sandbox with seccomp (--report: helpers)");
  }
  if (!p.net.listen.empty()) {
    std::vector<std::string> ports;
    for (int port : p.net.listen) ports.push_back(std::to_string(port));
    t.Row("listen", Join(ports, "") + " (TCP, in the sandbox's own network namespace)");
  }
  if (p.net.mode == NetMode::kSinkhole) {
    t.Row("sinkhole", "DNS answered locally, every TCP/UDP destination redirected to airlock and recorded; nothing leaves");
  }
  if (p.net.mode == NetMode::kHost) t.Weakened("host network shared");
  if (p.net.mode == NetMode::kUser) {
    t.Weakened(p.net.allow.empty() ? "outbound network to any destination" : "outbound network to the allow-list");
  }

  t.Section("limits");
  t.Row("memory", p.limits.memory_bytes ? Bytes(*p.limits.memory_bytes) : "unlimited");
  t.Row("pids", p.limits.pids ? std::to_string(*p.limits.pids) : "unlimited");
  if (!p.limits.memory_bytes) t.Weakened("no memory limit");
  if (!p.limits.pids) t.Weakened("no process limit (fork bombs reach the host's limits)");
  t.Row("cpus", p.limits.cpus ? fmt::format("{}", *p.limits.cpus) : "unlimited");
  t.Row("timeout", p.limits.timeout ? fmt::format("{}ms", p.limits.timeout->count()) : "none");
  t.Row("cgroup", fmt::format("{} ({})", RequirementName(p.limits.cgroup),
                               p.limits.cgroup == Requirement::kRequired     ? "refuse to run without cgroup controllers"
                               : p.limits.cgroup == Requirement::kBestEffort ? "else RLIMIT_AS per process, RLIMIT_NPROC per sandbox"
                                                                             : "never: RLIMIT_AS per process, RLIMIT_NPROC per sandbox"));
  for (const RlimitEntry& r : p.limits.rlimits) {
    t.Row("rlimit " + r.name, fmt::format("soft {} hard {}", RlimitText(r.soft), RlimitText(r.hard)));
  }

  return t.Finish();
}

}  // namespace airlock
