#include "box/box_store.h"

#include "box/box_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/file_read.h"
#include "core/json_text.h"
#include "core/private_dir.h"
#include "kernel/syscalls.h"

namespace airlock::box {
namespace {

constexpr int kMaxRemoveDepth = 4096;

Status WriteBoxJson(const BoxInfo& box) {
  nlohmann::json j = {{"schema", 1}, {"name", box.name}, {"profile", box.profile}, {"created", box.created}};
  if (!box.last_used.empty()) j["last_used"] = box.last_used;
  if (box.monitor) j["monitor"] = true;
  if (box.overlay != kOverlayKernel) j["overlay"] = box.overlay;
  j["trees"] = nlohmann::json::array();
  for (const auto& t : box.trees) j["trees"].push_back({{"host", t.host}, {"inside", t.inside}});
  return ReplaceFileAtomically(box.dir + "/box.json", DumpJson(j, 2) + "\n");
}

// j[key] when it is a string, else `fallback` (a tampered box.json never throws).
std::string StringOr(const nlohmann::json& j, const char* key, const std::string& fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

Result<BoxInfo> ReadBoxJson(const std::string& dir, const std::string& name) {
  auto text = ReadRegularFileBounded(dir + "/box.json", 1 << 20, "box.json is larger than 1 MiB");
  if (!text) return std::unexpected(text.error());
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || StringOr(j, "name", "") != name || !j.contains("trees") || !j["trees"].is_array()) {
    return MakeError(fmt::format("box {}: {}/box.json is not a box description of this box", name, dir));
  }
  BoxInfo box{name, StringOr(j, "profile", "default"), {}, StringOr(j, "created", ""), dir, StringOr(j, "last_used", "")};
  box.monitor = j.contains("monitor") && j["monitor"].is_boolean() && j["monitor"].get<bool>();
  box.overlay = StringOr(j, "overlay", kOverlayKernel);
  if (box.overlay != kOverlayKernel && box.overlay != kOverlayFuse) {
    return MakeError(fmt::format("box {}: {}/box.json names an unknown overlay driver '{}' (kernel or fuse)", name, dir, Utf8Text(box.overlay)));
  }
  for (const auto& t : j["trees"]) {
    if (!t.is_object() || !t.contains("host") || !t.contains("inside") || !t["host"].is_string() || !t["inside"].is_string()) {
      return MakeError(fmt::format("box {}: a tree in {}/box.json is malformed", name, dir));
    }
    box.trees.push_back({t["host"].get<std::string>(), t["inside"].get<std::string>()});
  }
  return box;
}

Status RemoveContentsBelow(int dirfd, const std::string& path, int depth) {
  if (depth > kMaxRemoveDepth) return MakeError(fmt::format("{}: deeper than {} levels; remove it by hand", path, kMaxRemoveDepth));
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
  if (dup < 0) return ErrnoError("dup");
  std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(dup), ::closedir);
  if (!d) {
    ::close(dup);
    return ErrnoError("read " + path);
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d.get())) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
  }
  for (const auto& n : names) {
    struct stat st {};
    if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("stat " + path + "/" + n);
    if (S_ISDIR(st.st_mode)) {
      // A box may leave d--------- (overlay's own work/work too): make it ours to walk first.
      if ((st.st_mode & 0700) != 0700 && ::fchmodat(dirfd, n.c_str(), 0700, 0) != 0) return ErrnoError("chmod " + path + "/" + n);
      UniqueFd sub(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return ErrnoError("open " + path + "/" + n);
      if (Status s = RemoveContentsBelow(sub.get(), path + "/" + n, depth + 1); !s) return s;
      if (::unlinkat(dirfd, n.c_str(), AT_REMOVEDIR) != 0) return ErrnoError("remove " + path + "/" + n);
    } else if (::unlinkat(dirfd, n.c_str(), 0) != 0) {
      return ErrnoError("remove " + path + "/" + n);
    }
  }
  return Ok();
}

Status RemoveContentsOf(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + path);
  return RemoveContentsBelow(fd.get(), path, 0);
}

uint64_t TreeBytes(int dirfd, int depth) {
  if (depth > kMaxRemoveDepth) return 0;
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
  std::unique_ptr<DIR, int (*)(DIR*)> d(dup >= 0 ? ::fdopendir(dup) : nullptr, ::closedir);
  if (!d) {
    if (dup >= 0) ::close(dup);
    return 0;
  }
  uint64_t total = 0;
  while (struct dirent* e = ::readdir(d.get())) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    struct stat st {};
    if (::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISREG(st.st_mode)) total += static_cast<uint64_t>(st.st_size);
    if (!S_ISDIR(st.st_mode)) continue;
    UniqueFd sub(::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub) total += TreeBytes(sub.get(), depth + 1);
  }
  return total;
}

Status CheckTrees(const std::vector<BoxTree>& trees) {
  if (trees.empty()) return MakeError("a box needs at least one tree to overlay (--over PATH)");
  for (const auto& t : trees) {
    for (const std::string* p : {&t.host, &t.inside}) {
      if (p->empty() || p->front() != '/' || !IsUtf8(*p) || p->find('\0') != std::string::npos) {
        return MakeError(fmt::format("box tree '{}': an absolute UTF-8 path is needed", Utf8Text(*p)));
      }
    }
    struct stat st {};
    if (::stat(t.host.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return MakeError(fmt::format("box tree {}: not an existing host directory", t.host));
    }
  }
  return Ok();
}

// The kernel's overlay records opaque directories (and, in userxattr mode, more) as user.* xattrs on
// the upper layer: a filesystem that has none cannot hold one.
Status CheckUpperLayerFilesystem(const std::string& upper, const std::string& store) {
  const char* probe = "user.airlock.probe";
  if (::setxattr(upper.c_str(), probe, "1", 1, 0) == 0) {
    ::removexattr(upper.c_str(), probe);
    return Ok();
  }
  if (errno != ENOTSUP && errno != EOPNOTSUPP) return ErrnoError("set a user xattr on " + upper);
  return MakeError(fmt::format("the box store {} is on a filesystem without user extended attributes (ramfs? NFS?), which "
                               "cannot hold an overlay's upper layer: choose one on ext4, xfs, btrfs or tmpfs (--store DIR)", store));
}

}  // namespace

Status RemoveContents(int dirfd, const std::string& path) { return RemoveContentsBelow(dirfd, path, 0); }

Status ReplaceFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return ErrnoError("write " + tmp);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) || ::fsync(fd.get()) != 0) {
    return ErrnoError("write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError("rename " + tmp);
  return Ok();
}

std::string BoxInfo::LayerDir(size_t i) const { return fmt::format("{}/layers/{}", dir, i); }
std::string BoxInfo::UpperDir(size_t i) const { return LayerDir(i) + "/upper"; }
std::string BoxInfo::EventsDir() const { return dir + "/events"; }

std::string DefaultStore() {
  if (const char* s = std::getenv("AIRLOCK_BOX_STORE"); s && *s) return s;
  if (::geteuid() == 0) return "/var/lib/airlock/boxes";
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x == '/') return std::string(x) + "/airlock/boxes";
  const char* home = std::getenv("HOME");
  return std::string(home && *home == '/' ? home : "/tmp") + "/.local/share/airlock/boxes";
}

Status CheckBoxName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.' && name[0] != '-' &&
            std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; });
  if (!ok) return MakeError(fmt::format("'{}' is not a box name: 1-64 of A-Z a-z 0-9 . _ -, not starting with . or -", Utf8Text(name)));
  return Ok();
}

Result<std::string> MakeStagingDir(const std::string& store, const std::string& prefix) {
  if (Status s = MakePrivateDirs(store); !s) return std::unexpected(s.error());
  if (Status s = CheckPrivateDir(store, "box store"); !s) return std::unexpected(s.error());
  std::string dir = store + "/." + prefix + "-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return ErrnoError("create a staging directory in " + store);
  return dir;
}

Result<BoxInfo> PlaceStagedBox(const std::string& store, const std::string& name, const std::string& profile,
                               const std::vector<BoxTree>& trees, const std::string& staged, const BoxSettings& settings) {
  if (Status s = CheckBoxName(name); !s) return std::unexpected(s.error());
  if (Status s = CheckTrees(trees); !s) return std::unexpected(s.error());
  BoxInfo box{name, profile, trees, UtcTimeNow(), staged};
  if (settings.overlay != kOverlayKernel && settings.overlay != kOverlayFuse) {
    return MakeError(fmt::format("'{}' is not an overlay driver: kernel or fuse", Utf8Text(settings.overlay)));
  }
  box.monitor = settings.monitor;
  box.overlay = settings.overlay;
  UniqueFd lock(::open((staged + "/lock").c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!lock) return ErrnoError("create " + staged + "/lock");
  if (Status s = WriteBoxJson(box); !s) return std::unexpected(s.error());
  box.dir = store + "/" + name;
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, box.dir.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return MakeError(fmt::format("box {} exists already ({}); `airlock box rm {}` removes it", name, box.dir, name));
    return ErrnoError("rename " + staged + " to " + box.dir);
  }
  return box;
}

Status RemoveTree(const std::string& path) {
  if (Status s = RemoveContentsOf(path); !s) return s;
  if (::rmdir(path.c_str()) != 0) return ErrnoError("remove " + path);
  return Ok();
}

Result<BoxInfo> CreateBox(const std::string& store, const std::string& name, const std::string& profile,
                          const std::vector<BoxTree>& trees, const BoxSettings& settings) {
  if (Status s = CheckBoxName(name); !s) return std::unexpected(s.error());
  if (Status s = CheckTrees(trees); !s) return std::unexpected(s.error());
  auto staged = MakeStagingDir(store, "create-" + name);
  if (!staged) return std::unexpected(staged.error());
  Status made = Ok();
  for (size_t i = 0; i < trees.size() && made; ++i) {
    for (const char* sub : {"/upper", "/work"}) {
      if (made) made = MakePrivateDirs(fmt::format("{}/layers/{}{}", *staged, i, sub));
    }
  }
  if (made) made = CheckUpperLayerFilesystem(fmt::format("{}/layers/0/upper", *staged), store);
  auto box = made ? PlaceStagedBox(store, name, profile, trees, *staged, settings) : Result<BoxInfo>(std::unexpected(made.error()));
  if (!box) (void)RemoveTree(*staged);
  return box;
}

Result<BoxInfo> OpenBox(const std::string& store, const std::string& name) {
  if (Status s = CheckBoxName(name); !s) return std::unexpected(s.error());
  if (Status s = CheckPrivateDir(store, "box store"); !s) {
    if (s.error().err() == ENOENT) return MakeError(fmt::format("no box named {} (the store {} does not exist; `airlock box create {}` makes one)", name, store, name));
    return std::unexpected(s.error());
  }
  const std::string dir = store + "/" + name;
  if (Status s = CheckPrivateDir(dir, "box"); !s) {
    if (s.error().err() == ENOENT) return MakeError(fmt::format("no box named {} in {} (`airlock box list` shows the boxes)", name, store));
    return std::unexpected(s.error());
  }
  auto box = ReadBoxJson(dir, name);
  if (!box) return box;
  for (size_t i = 0; i < box->trees.size(); ++i) {
    if (Status s = CheckPrivateDir(box->LayerDir(i), "box layer"); !s) return std::unexpected(s.error());
    for (const char* sub : {"/upper", "/work"}) {
      struct stat st {};
      if (::lstat((box->LayerDir(i) + sub).c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
        return MakeError(fmt::format("box {}: {}{} is missing or not a directory of yours (a tampered store?)", name, box->LayerDir(i), sub));
      }
    }
  }
  return box;
}

Status CheckHostTrees(const BoxInfo& box) {
  for (const auto& t : box.trees) {
    struct stat st {};
    if (::stat(t.host.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    return MakeError(fmt::format("box {}: its host tree {} (at {} inside) is gone or not a directory: recreate it, or take "
                                 "what the box holds out of it first (`airlock box diff {}`) and `airlock box rm {}`",
                                 box.name, Utf8Text(t.host), Utf8Text(t.inside), box.name, box.name));
  }
  return Ok();
}

Result<std::vector<BoxInfo>> ListBoxes(const std::string& store) {
  std::vector<BoxInfo> out;
  struct stat st {};
  if (::lstat(store.c_str(), &st) != 0 && errno == ENOENT) return out;
  if (Status s = CheckPrivateDir(store, "box store"); !s) return std::unexpected(s.error());
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(store.c_str()), ::closedir);
  if (!d) return ErrnoError("read " + store);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d.get())) {
    if (e->d_name[0] != '.' && CheckBoxName(e->d_name)) names.emplace_back(e->d_name);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    auto box = OpenBox(store, n);
    if (!box) return std::unexpected(box.error());
    out.push_back(std::move(*box));
  }
  return out;
}

Result<UniqueFd> LockBox(const BoxInfo& box, std::chrono::milliseconds grace) {
  UniqueFd fd(::open((box.dir + "/lock").c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoError(fmt::format("box {}: open {}/lock", box.name, box.dir));
  const auto give_up = std::chrono::steady_clock::now() + grace;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return ErrnoError(fmt::format("box {}: lock", box.name));
    if (std::chrono::steady_clock::now() >= give_up) {
      return MakeError(fmt::format("box {} is in use (a run or another box command holds it); try again when it ends", box.name));
    }
    ::usleep(20 * 1000);
  }
  return fd;
}

Status RecordUse(BoxInfo& box) {
  box.last_used = UtcTimeNow();
  return WriteBoxJson(box);
}

Result<UniqueFd> OpenRunEvents(const BoxInfo& box, const std::string& utc_start) {
  if (Status s = MakePrivateDirs(box.EventsDir()); !s) return std::unexpected(s.error());
  if (Status s = CheckPrivateDir(box.EventsDir(), "box events directory"); !s) return std::unexpected(s.error());
  std::string stamp;  // "2026-11-27 05:50:00.123" -> "20261127T055000.123Z"
  for (char c : utc_start) {
    if (c == ' ') stamp += 'T';
    else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') stamp += c;
  }
  for (int n = 0; n < 100; ++n) {
    const std::string path = fmt::format("{}/{}Z{}.jsonl", box.EventsDir(), stamp, n == 0 ? "" : fmt::format("-{}", n));
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd) return fd;
    if (errno != EEXIST) return ErrnoError("create " + path);
  }
  return MakeError(fmt::format("box {}: too many runs started at {}", box.name, utc_start));
}

Result<std::vector<std::string>> RunEventFiles(const BoxInfo& box) {
  std::vector<std::string> files;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(box.EventsDir().c_str()), ::closedir);
  if (!d) {
    if (errno == ENOENT) return files;
    return ErrnoError("read " + box.EventsDir());
  }
  while (struct dirent* e = ::readdir(d.get())) {
    const std::string n = e->d_name;
    if (e->d_type == DT_REG && n.size() > 6 && n.compare(n.size() - 6, 6, ".jsonl") == 0) files.push_back(box.EventsDir() + "/" + n);
  }
  std::sort(files.begin(), files.end());
  return files;
}

Status DiscardAll(const BoxInfo& box) {
  for (size_t i = 0; i < box.trees.size(); ++i) {
    for (const char* sub : {"/upper", "/work"}) {
      if (Status s = RemoveContentsOf(box.LayerDir(i) + sub); !s) return s;
    }
  }
  if (struct stat st {}; ::lstat(box.EventsDir().c_str(), &st) == 0) return RemoveContentsOf(box.EventsDir());
  return Ok();
}

namespace {

// The tree holding `path` (the longest inside prefix) and the path relative to it ("" = the tree).
std::optional<std::pair<size_t, std::string>> TreeOf(const BoxInfo& box, const std::string& path) {
  std::optional<std::pair<size_t, std::string>> best;
  size_t best_len = 0;
  for (size_t i = 0; i < box.trees.size(); ++i) {
    const std::string& in = box.trees[i].inside;
    bool under = path == in || (path.size() > in.size() && path.compare(0, in.size(), in) == 0 && (in == "/" || path[in.size()] == '/'));
    if (!under || (best && in.size() <= best_len)) continue;
    best_len = in.size();
    std::string rel = path.size() > in.size() ? path.substr(in == "/" ? 1 : in.size() + 1) : std::string();
    best = std::make_pair(i, rel);
  }
  return best;
}

// Removes upper/<rel> (a file or a whole directory) without following a symlink, and in a fuse box
// the whiteout `.wh.<leaf>` beside it; false if neither was there.
Result<bool> RemoveFromUpper(const std::string& upper, const std::string& rel, bool fuse) {
  UniqueFd root(::open(upper.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return ErrnoError("open " + upper);
  const size_t slash = rel.rfind('/');
  const std::string parent = slash == std::string::npos ? "." : rel.substr(0, slash);
  const std::string leaf = slash == std::string::npos ? rel : rel.substr(slash + 1);
  UniqueFd dir(kernel::Openat2(root.get(), parent.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0,
                               RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS));
  if (!dir) return errno == ENOENT || errno == ENOTDIR ? Result<bool>(false) : ErrnoError("open " + upper + "/" + parent);
  bool removed = false;
  if (fuse) {
    const std::string whiteout = kFuseWhiteoutPrefix + leaf;
    if (::unlinkat(dir.get(), whiteout.c_str(), 0) == 0) {
      removed = true;
    } else if (errno != ENOENT) {
      return ErrnoError("remove " + upper + "/" + (slash == std::string::npos ? whiteout : parent + "/" + whiteout));
    }
  }
  struct stat st {};
  if (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? Result<bool>(removed) : ErrnoError("stat " + upper + "/" + rel);
  }
  if (S_ISDIR(st.st_mode)) {
    if ((st.st_mode & 0700) != 0700 && ::fchmodat(dir.get(), leaf.c_str(), 0700, 0) != 0) return ErrnoError("chmod " + upper + "/" + rel);
    UniqueFd sub(::openat(dir.get(), leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return ErrnoError("open " + upper + "/" + rel);
    if (Status s = RemoveContentsBelow(sub.get(), upper + "/" + rel, 0); !s) return std::unexpected(s.error());
  }
  if (::unlinkat(dir.get(), leaf.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0) return ErrnoError("remove " + upper + "/" + rel);
  return true;
}

}  // namespace

Status DiscardPaths(const BoxInfo& box, const std::vector<std::string>& inside_paths, std::vector<std::string>* untouched) {
  for (const auto& p : inside_paths) {
    std::string path = p;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    if (path.empty() || path.front() != '/' || path.find("/../") != std::string::npos || path.ends_with("/..") ||
        path.find("/./") != std::string::npos || path.ends_with("/.") || path.find("//") != std::string::npos) {
      return MakeError(fmt::format("discard {}: an absolute path inside the box, without . or .., is needed", Utf8Text(p)));
    }
    auto where = TreeOf(box, path);
    if (!where) return MakeError(fmt::format("discard {}: not in any of box {}'s trees", Utf8Text(p), box.name));
    const std::string upper = box.UpperDir(where->first);
    if (where->second.empty()) {
      if (Status s = RemoveContentsOf(upper); !s) return s;
      continue;
    }
    auto removed = RemoveFromUpper(upper, where->second, box.overlay == kOverlayFuse);
    if (!removed) return std::unexpected(removed.error());
    if (!*removed && untouched) untouched->push_back(path);
  }
  return Ok();
}

Status RemoveBox(const BoxInfo& box) { return RemoveTree(box.dir); }

uint64_t BoxBytes(const BoxInfo& box) {
  UniqueFd fd(::open((box.dir + "/layers").c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  return fd ? TreeBytes(fd.get(), 0) : 0;
}

std::vector<LayerTree> LayersOf(const BoxInfo& box) {
  std::vector<LayerTree> layers;
  for (size_t i = 0; i < box.trees.size(); ++i) layers.push_back({box.trees[i].inside, box.trees[i].host, box.UpperDir(i), box.overlay == kOverlayFuse});
  return layers;
}

void AddBoxOverlays(const BoxInfo& box, Policy& policy) {
  for (size_t i = 0; i < box.trees.size(); ++i) {
    const BoxTree& t = box.trees[i];
    std::erase_if(policy.mounts, [&](const MountEntry& m) { return m.dst == t.inside; });
    MountEntry m;
    m.kind = MountEntry::Kind::kOverlay;
    m.src = t.host;
    m.dst = t.inside;
    m.layer = box.LayerDir(i);
    m.fuse = box.overlay == kOverlayFuse;
    m.origin = fmt::format("box {} tree {}", box.name, i);
    policy.mounts.push_back(std::move(m));
  }
}

}  // namespace airlock::box
