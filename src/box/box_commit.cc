#include "box/box_commit.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "box/box_fs.h"
#include "core/file_read.h"
#include "core/json_text.h"
#include "core/unique_fd.h"
#include "kernel/syscalls.h"

namespace airlock::box {
namespace {


int64_t Ns(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

std::string Hex(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += fmt::format("{:02x}", c);
  return out;
}
std::string Key(const Change& c) { return fmt::format("{}:{}", c.tree, Hex(c.relative)); }

struct Trees {
  std::vector<UniqueFd> host, upper;
};

Result<Trees> OpenTrees(const BoxInfo& box) {
  Trees t;
  for (size_t i = 0; i < box.trees.size(); ++i) {
    UniqueFd h(::open(box.trees[i].host.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd u(::open(box.UpperDir(i).c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!h) return ErrnoError("open host tree " + box.trees[i].host);
    if (!u) return ErrnoError("open " + box.UpperDir(i));
    t.host.push_back(std::move(h));
    t.upper.push_back(std::move(u));
  }
  return t;
}

// lstat of rel beneath root; nullopt when it does not exist.
Result<std::optional<struct stat>> Lstat(int root, const std::string& rel) {
  std::string leaf;
  auto dir = OpenParentBeneath(root, rel, &leaf);
  if (!dir) {
    if (dir.error().err() == ENOENT) return std::optional<struct stat>();
    return std::unexpected(dir.error());
  }
  struct stat st {};
  if (::fstatat(dir->get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::optional<struct stat>();
    return ErrnoError("stat " + Utf8Text(rel));
  }
  return std::optional<struct stat>(st);
}

nlohmann::json ReadBaseline(const BoxInfo& box) {
  auto text = ReadRegularFileBounded(box.dir + "/baseline.json", 256u << 20, "baseline.json is too large");
  if (!text) return nlohmann::json::object();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

Status WriteBaseline(const BoxInfo& box, const nlohmann::json& j) {
  return ReplaceFileAtomically(box.dir + "/baseline.json", DumpJson(j) + "\n");
}

nlohmann::json Note(const struct stat& st) {
  return {{"ino", st.st_ino}, {"size", st.st_size}, {"mtime", Ns(st.st_mtim)}, {"ctime", Ns(st.st_ctim)}};
}

}  // namespace

Status RecordBaseline(const BoxInfo& box, int64_t run_start_ns) {
  auto changes = DiffLayers(LayersOf(box));
  if (!changes) return std::unexpected(changes.error());
  auto trees = OpenTrees(box);
  if (!trees) return std::unexpected(trees.error());
  nlohmann::json base = ReadBaseline(box);
  // Notes of paths the box no longer changes (discarded, committed) go: a later change there is new.
  std::set<std::string> current;
  for (const Change& c : *changes) current.insert(Key(c));
  bool dirty = false;
  for (auto it = base.begin(); it != base.end();) {
    if (current.count(it.key())) {
      ++it;
    } else {
      it = base.erase(it);
      dirty = true;
    }
  }
  for (const Change& c : *changes) {
    if (c.kind == Change::Kind::kAdded || base.contains(Key(c))) continue;
    auto st = Lstat(trees->host[c.tree].get(), c.relative);
    if (!st || !*st) continue;
    nlohmann::json note = Note(**st);
    if (Ns((*st)->st_ctim) >= run_start_ns) note["conflict"] = "the host changed it while the box ran";
    base[Key(c)] = std::move(note);
    dirty = true;
  }
  return dirty ? WriteBaseline(box, base) : Ok();
}

namespace {

std::string TypeOf(mode_t m) {
  return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink" : "other";
}

// True when both regular files hold the same bytes (read in 64 KiB blocks).
bool SameContent(int a, int b) {
  char x[65536], y[65536];
  for (;;) {
    ssize_t n = ::read(a, x, sizeof x);
    if (n < 0) return false;
    ssize_t done = 0;
    while (done < n) {
      ssize_t m = ::read(b, y + done, static_cast<size_t>(n - done));
      if (m <= 0) return false;
      done += m;
    }
    if (std::memcmp(x, y, static_cast<size_t>(n)) != 0) return false;
    if (n == 0) return ::read(b, y, 1) == 0;
  }
}

// The host already has exactly what the box has at this path (an interrupted commit's work).
bool AlreadyApplied(int host_root, int upper_root, const Change& c) {
  auto st = Lstat(host_root, c.relative);
  if (!st) return false;
  if (c.kind == Change::Kind::kDeleted) return !*st;
  if (!*st || TypeOf((*st)->st_mode) != c.type) return false;
  if (c.type == "dir") return c.kind != Change::Kind::kReplaced && ((*st)->st_mode & 0777) == (c.mode & 0777);
  std::string hl, ul;
  auto hp = OpenParentBeneath(host_root, c.relative, &hl);
  auto up = OpenParentBeneath(upper_root, c.relative, &ul);
  if (!hp || !up) return false;
  if (c.type == "symlink") {
    char a[4096], b[4096];
    ssize_t n = ::readlinkat(hp->get(), hl.c_str(), a, sizeof a), m = ::readlinkat(up->get(), ul.c_str(), b, sizeof b);
    return n >= 0 && n == m && std::memcmp(a, b, static_cast<size_t>(n)) == 0;
  }
  UniqueFd h(::openat(hp->get(), hl.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)), u(::openat(up->get(), ul.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  return h && u && ((*st)->st_mode & 0777) == (c.mode & 0777) && SameContent(h.get(), u.get());
}

// Why this change may not be applied as things stand ("" when it may).
std::string ConflictOf(const Change& c, const nlohmann::json& base, int host_root) {
  auto st = Lstat(host_root, c.relative);
  if (!st) return st.error().What();
  if (c.kind == Change::Kind::kAdded) {
    if (*st) return "the host has made this path meanwhile";
    // Listed as added because the host removed what the box saw (and changed) here.
    return base.contains(Key(c)) ? "the host has removed this path meanwhile" : "";
  }
  if (!*st) return c.kind == Change::Kind::kDeleted ? "" : "the host has removed this path meanwhile";
  auto it = base.find(Key(c));
  if (it == base.end()) return "no record of what the box saw here: the host made it meanwhile, or the box last ran with an older airlock";
  if (it->contains("conflict")) return (*it)["conflict"].get<std::string>();
  if (Note(**st) != *it) return "the host changed it during the box's life";
  return "";
}

struct Applier {
  int host_root;
  int upper_root;
  CommitResult* result;
  const Change& c;

  // The owner a new host entry takes: the replaced entry's, else the directory's (root only).
  void Own(int fd, int dir, const std::optional<struct stat>& old) {
    if (::geteuid() != 0) return;
    struct stat d {};
    if (!old && ::fstat(dir, &d) != 0) return;
    const struct stat& o = old ? *old : d;
    if (::fchown(fd, o.st_uid, o.st_gid) != 0) return;
  }

  Status RemoveHostEntry(int dir, const std::string& leaf, const struct stat& st, bool keep_dir) {
    if (!S_ISDIR(st.st_mode)) return ::unlinkat(dir, leaf.c_str(), 0) == 0 ? Ok() : ErrnoError("remove " + Utf8Text(c.path));
    UniqueFd sub(::openat(dir, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return ErrnoError("open " + Utf8Text(c.path));
    if (Status s = RemoveContents(sub.get(), c.path); !s) return s;
    if (keep_dir) return Ok();
    return ::unlinkat(dir, leaf.c_str(), AT_REMOVEDIR) == 0 ? Ok() : ErrnoError("remove " + Utf8Text(c.path));
  }

  // A temporary name in `dir` for a new entry, made by `make(name)` (0 or -errno).
  template <typename Make>
  Result<std::string> Temporary(Make make) {
    static std::mt19937_64 rng{std::random_device{}()};
    for (int i = 0; i < 100; ++i) {
      std::string name = fmt::format(".airlock-commit.{:012x}", rng() & 0xffffffffffffULL);
      int rc = make(name);
      if (rc == 0) return name;
      if (rc != -EEXIST) return std::unexpected(Error("create a temporary file beside " + Utf8Text(c.path), -rc));
    }
    return MakeError("no free temporary name beside " + Utf8Text(c.path));
  }

  Status WriteFile(int dir, const std::string& leaf, int src, const std::optional<struct stat>& old) {
    int fd = -1;
    auto tmp = Temporary([&](const std::string& n) {
      fd = ::openat(dir, n.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      return fd < 0 ? -errno : 0;
    });
    if (!tmp) return std::unexpected(tmp.error());
    UniqueFd out(fd);
    if (int e = CopyData(src, out.get()); e != 0) {
      ::unlinkat(dir, tmp->c_str(), 0);
      return std::unexpected(Error("write " + Utf8Text(c.path), e));
    }
    Own(out.get(), dir, old);
    if (::fchmod(out.get(), c.mode & 0777) != 0 || ::fsync(out.get()) != 0 || ::renameat(dir, tmp->c_str(), dir, leaf.c_str()) != 0) {
      int e = errno;
      ::unlinkat(dir, tmp->c_str(), 0);
      return std::unexpected(Error("put " + Utf8Text(c.path) + " in place", e));
    }
    return Ok();
  }

  Status Apply() {
    std::string hleaf, uleaf;
    auto hdir = OpenParentBeneath(host_root, c.relative, &hleaf);
    if (!hdir) return std::unexpected(std::move(hdir.error()).WithContext(Utf8Text(c.path)));
    struct stat hs {};
    std::optional<struct stat> old;
    if (::fstatat(hdir->get(), hleaf.c_str(), &hs, AT_SYMLINK_NOFOLLOW) == 0) old = hs;
    if (c.kind == Change::Kind::kDeleted) return old ? RemoveHostEntry(hdir->get(), hleaf, *old, false) : Ok();
    // What is in the way goes first: a directory of another type (with what is beneath it), anything
    // where a directory comes, a replaced directory's contents. A file or symlink over a file or
    // symlink is replaced by the rename alone.
    if (old && TypeOf(old->st_mode) != c.type && (S_ISDIR(old->st_mode) || c.type == "dir")) {
      if (Status s = RemoveHostEntry(hdir->get(), hleaf, *old, false); !s) return s;
      old.reset();
    } else if (old && c.type == "dir" && c.kind == Change::Kind::kReplaced) {
      if (Status s = RemoveHostEntry(hdir->get(), hleaf, *old, true); !s) return s;
    }
    if (c.type == "dir") {
      if (!old && ::mkdirat(hdir->get(), hleaf.c_str(), 0700) != 0) return ErrnoError("mkdir " + Utf8Text(c.path));
      UniqueFd d(::openat(hdir->get(), hleaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!d) return ErrnoError("open " + Utf8Text(c.path));
      if (!old) Own(d.get(), hdir->get(), old);
      return ::fchmod(d.get(), c.mode & 0777) == 0 ? Ok() : ErrnoError("chmod " + Utf8Text(c.path));
    }
    auto udir = OpenParentBeneath(upper_root, c.relative, &uleaf);
    if (!udir) return std::unexpected(udir.error());
    if (c.type == "symlink") {
      char target[4096];
      ssize_t n = ::readlinkat(udir->get(), uleaf.c_str(), target, sizeof target - 1);
      if (n < 0) return ErrnoError("read the box's symlink " + Utf8Text(c.path));
      target[n] = '\0';
      auto tmp = Temporary([&](const std::string& name) { return ::symlinkat(target, hdir->get(), name.c_str()) == 0 ? 0 : -errno; });
      if (!tmp) return std::unexpected(tmp.error());
      return ::renameat(hdir->get(), tmp->c_str(), hdir->get(), hleaf.c_str()) == 0 ? Ok() : ErrnoError("put " + Utf8Text(c.path) + " in place");
    }
    UniqueFd src(::openat(udir->get(), uleaf.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat ss {};
    if (!src || ::fstat(src.get(), &ss) != 0 || !S_ISREG(ss.st_mode)) return ErrnoError("read the box's file " + Utf8Text(c.path));
    if (c.setid) result->stripped.push_back(c.path);
    return WriteFile(hdir->get(), hleaf, src.get(), old);
  }
};

// A fuse box's directory holding nothing but fuse-overlayfs's opaque markers (box_diff.h) loses
// them, so that it can be removed like an empty one; one with anything else keeps them.
void DropLoneFuseMarkers(int parent, const std::string& leaf) {
  UniqueFd d(::openat(parent, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d) return;
  const int dup = ::fcntl(d.get(), F_DUPFD_CLOEXEC, 3);
  std::unique_ptr<DIR, int (*)(DIR*)> listing(dup >= 0 ? ::fdopendir(dup) : nullptr, ::closedir);
  if (!listing) {
    if (dup >= 0) ::close(dup);
    return;
  }
  std::vector<std::string> markers;
  while (struct dirent* e = ::readdir(listing.get())) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (!IsFuseOpaqueMarker(name)) return;
    markers.push_back(name);
  }
  for (const std::string& m : markers) (void)::unlinkat(d.get(), m.c_str(), 0);
}

// The committed paths leave the box: files, symlinks and whiteouts (in a fuse box also `.wh.NAME`)
// are removed from the upper layer, directories only once empty (what was not committed beneath them
// stays).
void DropFromUpper(int upper_root, const std::vector<Change>& done, bool fuse) {
  for (auto it = done.rbegin(); it != done.rend(); ++it) {
    std::string leaf;
    auto dir = OpenParentBeneath(upper_root, it->relative, &leaf);
    if (!dir) continue;
    if (fuse) (void)::unlinkat(dir->get(), (kFuseWhiteoutPrefix + leaf).c_str(), 0);
    struct stat st {};
    if (::fstatat(dir->get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (fuse && S_ISDIR(st.st_mode)) DropLoneFuseMarkers(dir->get(), leaf);
    (void)::unlinkat(dir->get(), leaf.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
  }
}

}  // namespace

Result<CommitResult> CommitBox(const BoxInfo& box, const CommitOptions& options) {
  DiffOptions d;
  d.only = options.only;
  auto changes = DiffLayers(LayersOf(box), d);
  if (!changes) return std::unexpected(changes.error());
  auto trees = OpenTrees(box);
  if (!trees) return std::unexpected(trees.error());
  nlohmann::json base = ReadBaseline(box);
  CommitResult r;
  std::vector<const Change*> todo;
  for (const Change& c : *changes) {
    if (c.special) {
      r.refused.push_back(c.path + ": a " + c.type + " is never carried to the host");
      continue;
    }
    if (AlreadyApplied(trees->host[c.tree].get(), trees->upper[c.tree].get(), c)) {
      r.skipped.push_back(c.path);
      continue;
    }
    if (std::string why = ConflictOf(c, base, trees->host[c.tree].get()); !why.empty()) {
      r.conflicts.push_back(c.path + ": " + why);
      if (!options.force) continue;
    }
    todo.push_back(&c);
  }
  if (!r.conflicts.empty() && !options.force) return r;  // nothing applied: the caller shows the conflicts
  std::vector<std::vector<Change>> done(box.trees.size());
  for (const Change* c : todo) {
    Applier a{trees->host[c->tree].get(), trees->upper[c->tree].get(), &r, *c};
    if (Status s = a.Apply(); !s) return std::unexpected(std::move(s.error()).WithContext("commit " + Utf8Text(c->path)));
    r.applied.push_back(c->path);
    base.erase(Key(*c));
    done[c->tree].push_back(*c);
  }
  for (const Change& c : *changes) {
    if (std::find(r.skipped.begin(), r.skipped.end(), c.path) == r.skipped.end()) continue;
    done[c.tree].push_back(c);
    base.erase(Key(c));
  }
  // The notes first: a SIGKILL before the box lets go of the committed paths leaves them in the box,
  // already as the host has them (skipped by the next commit), never a stale note.
  if (Status s = WriteBaseline(box, base); !s) return std::unexpected(s.error());
  for (size_t i = 0; i < done.size(); ++i) {
    std::sort(done[i].begin(), done[i].end(), [](const Change& a, const Change& b) { return a.relative < b.relative; });
    DropFromUpper(trees->upper[i].get(), done[i], box.overlay == kOverlayFuse);
  }
  return r;
}

}  // namespace airlock::box
