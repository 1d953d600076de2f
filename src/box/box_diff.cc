// The change listing of a box's upper layers (box_diff.h has the contract).
#include "box/box_diff.h"

#include "box/box_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string_view>
#include <utility>

#include "core/json_text.h"
#include "core/unique_fd.h"
#include "kernel/syscalls.h"

namespace airlock::box {
namespace {

constexpr size_t kDentsBytes = 64 * 1024;

using Xattr = std::optional<std::string>;
using HostStat = std::optional<struct stat>;

enum class Relevance { kOutside, kAncestor, kInside };

// What one DiffLayers call carries through the walk.
struct Walk {
  const std::vector<LayerTree>& trees;
  const DiffOptions& options;
  std::vector<std::string> insides;  // trees[i].inside, normalised
  std::vector<std::string> only;     // options.only, normalised
  size_t entries = 0;                // upper entries read so far
  std::vector<char> dents;           // getdents64 buffer (one directory is read at a time)
  std::vector<Change> changes;
};

// One directory of the walk: its upper descriptor and the host directory of the same name.
struct Level {
  size_t tree = 0;
  int upper = -1;           // O_RDONLY directory in the upper layer
  int lower = -1;           // O_PATH host directory; -1: the host's is hidden or absent
  std::string relative;     // "" at the root
  int depth = 0;            // components below the root
  bool xwhiteouts = false;  // zero-size files here may be xattr whiteouts
  bool fuse = false;        // a fuse-overlayfs upper layer (box_diff.h)
};

std::string Join(const std::string& dir, std::string_view name) {
  if (name.empty()) return dir;
  if (dir.empty()) return std::string(name);
  std::string out = dir;
  if (out.back() != '/') out += '/';
  out += name;
  return out;
}

// `path` without trailing slashes ("/" stays); an error unless absolute.
Result<std::string> Normalise(const std::string& path, std::string_view what) {
  if (path.empty() || path[0] != '/') return MakeError(std::string(what) + " is not an absolute path: " + path);
  std::string out = path;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool IsAtOrBeneath(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path.starts_with(root) && (path.size() == root.size() || path[root.size()] == '/');
}

// kInside: `path` is an `only` path or beneath one (or there are none); kAncestor: above one.
Relevance RelevanceOf(const Walk& walk, const std::string& path) {
  if (walk.only.empty()) return Relevance::kInside;
  Relevance found = Relevance::kOutside;
  for (const std::string& only : walk.only) {
    if (IsAtOrBeneath(path, only)) return Relevance::kInside;
    if (IsAtOrBeneath(only, path)) found = Relevance::kAncestor;
  }
  return found;
}

const char* TypeName(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "symlink";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
    case S_IFCHR: return "char";
    case S_IFBLK: return "block";
    default: return "unknown";
  }
}

// fgetxattr into `out`; 0 or the errno. A value too long for the buffer reads as "(long)".
int ReadXattr(int fd, const std::string& key, std::string& out) {
  char buf[256];
  ssize_t n = ::fgetxattr(fd, key.c_str(), buf, sizeof buf);
  if (n >= 0) {
    out.assign(buf, static_cast<size_t>(n));
    return 0;
  }
  if (errno != ERANGE) return errno;
  out = "(long)";
  return 0;
}

// Overlay xattr `name` ("opaque", "whiteout", ...) of fd: user.overlay.* (an unreadable one is an
// error), else trusted.overlay.* where readable; nullopt when neither is set.
Result<Xattr> OverlayXattr(int fd, const char* name, const std::string& where) {
  std::string value;
  const std::string user = std::string("user.overlay.") + name;
  const int err = ReadXattr(fd, user, value);
  if (err == 0) return Xattr(value);
  if (err != ENODATA && err != ENOTSUP) return MakeError("read " + user + " of " + where, err);
  if (ReadXattr(fd, std::string("trusted.overlay.") + name, value) == 0) return Xattr(value);
  return Xattr();
}

// openat2 of one name beneath dirfd, never through a symlink.
Result<UniqueFd> OpenBeneath(int dirfd, const std::string& name, uint64_t flags, const std::string& where) {
  const int fd = kernel::Openat2(dirfd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, 0, kBeneath);
  if (fd < 0) return ErrnoError("open " + where);
  return UniqueFd(fd);
}

// The opened fd is still the inode lstat saw (nothing was swapped in between).
Status SameInode(int fd, const struct stat& seen, const std::string& where) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return ErrnoError("stat " + where);
  if (st.st_dev != seen.st_dev || st.st_ino != seen.st_ino) return MakeError(where + ": replaced during the listing");
  return Ok();
}

Result<UniqueFd> OpenDirBeneath(int dirfd, const std::string& name, uint64_t flags, const struct stat& seen,
                                const std::string& where) {
  auto fd = OpenBeneath(dirfd, name, flags | O_DIRECTORY, where);
  if (!fd) return fd;
  if (auto same = SameInode(fd->get(), seen, where); !same) return std::unexpected(std::move(same.error()));
  return fd;
}

// lstat of `name` in the host directory `lower` (-1: nothing there); nullopt when the host has no such path.
Result<HostStat> LowerStat(int lower, const std::string& name, const std::string& where) {
  if (lower < 0) return HostStat();
  struct stat st {};
  if (::fstatat(lower, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return HostStat(st);
  if (errno == ENOENT) return HostStat();
  return ErrnoError("stat host path " + where);
}

// The host root of a tree; an invalid fd when the host has no such directory.
Result<UniqueFd> OpenHostRoot(const std::string& path) {
  const int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) return UniqueFd(fd);
  if (errno == ENOENT || errno == ENOTDIR) return UniqueFd();
  return ErrnoError("open host tree " + path);
}

// Whether zero-size files in the directory `fd` are checked for the whiteout xattr (kernel rule:
// the directory says it holds some, opaque = "x", or carries `overlay.whiteouts`).
Result<bool> HoldsXattrWhiteouts(int fd, const Xattr& opaque, const std::string& where) {
  if (opaque == "x") return true;
  auto marker = OverlayXattr(fd, "whiteouts", where);
  if (!marker) return std::unexpected(std::move(marker.error()));
  return marker->has_value();
}

// Whether the upper directory `fd` hides the host's: the kernel's opaque = "y"; for fuse-overlayfs
// also its own xattr or the `.wh..wh..opq` marker inside (box_diff.h).
Result<bool> IsOpaque(int fd, const Xattr& opaque, bool fuse, const std::string& where) {
  if (opaque == "y") return true;
  if (!fuse) return false;
  std::string value;
  const int err = ReadXattr(fd, "user.fuseoverlayfs.opaque", value);
  if (err == 0 && value == "y") return true;
  if (err != 0 && err != ENODATA && err != ENOTSUP) return MakeError("read user.fuseoverlayfs.opaque of " + where, err);
  if (ReadXattr(fd, "trusted.overlay.opaque", value) == 0 && value == "y") return true;
  struct stat st {};
  if (::fstatat(fd, kFuseOpaqueMarker, &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
  if (errno != ENOENT) return ErrnoError("stat " + where + "/" + kFuseOpaqueMarker);
  return false;
}

Result<bool> IsWhiteout(const Level& level, const std::string& name, const struct stat& st, const std::string& where) {
  if (S_ISCHR(st.st_mode)) return st.st_rdev == makedev(0, 0);
  if (!S_ISREG(st.st_mode) || st.st_size != 0 || !level.xwhiteouts) return false;
  auto file = OpenBeneath(level.upper, name, O_RDONLY | O_NONBLOCK | O_NOCTTY, where);
  if (!file) return std::unexpected(std::move(file.error()));
  auto value = OverlayXattr(file->get(), "whiteout", where);
  if (!value) return std::unexpected(std::move(value.error()));
  return value->has_value();
}

std::string InsidePath(const Walk& walk, size_t tree, const std::string& relative) {
  return Join(walk.insides[tree], relative);
}

// `st`: the box's version (the host's for kDeleted).
void AddChange(Walk& walk, Change::Kind kind, const Level& level, const std::string& relative, const struct stat& st) {
  Change c;
  c.kind = kind;
  c.path = InsidePath(walk, level.tree, relative);
  c.type = TypeName(st.st_mode);
  c.relative = relative;
  c.tree = level.tree;
  if (kind != Change::Kind::kDeleted) {
    const bool file = S_ISREG(st.st_mode);
    c.size = file ? static_cast<uint64_t>(st.st_size) : 0;
    c.mode = st.st_mode & 07777;
    c.setid = file && (st.st_mode & (S_ISUID | S_ISGID)) != 0;
    c.special = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
  }
  walk.changes.push_back(std::move(c));
}

// The names in directory `fd` (not "." or ".."), sorted, counted against the entry budget.
Result<std::vector<std::string>> ReadNames(Walk& walk, int fd, const std::string& where) {
  auto names = ReadDirNames(fd, where, walk.dents);
  if (!names) return names;
  walk.entries += names->size();
  if (walk.entries > walk.options.max_entries) {
    return MakeError(where + ": more than " + std::to_string(walk.options.max_entries) + " entries in the box's layers");
  }
  return names;
}

Status VisitDir(Walk& walk, const Level& level);

// What an upper directory is relative to the host's path of the same name (contract in box_diff.h).
std::optional<Change::Kind> DirKind(bool opaque, const HostStat& host, const struct stat& st) {
  if (!host) return Change::Kind::kAdded;
  if (!S_ISDIR(host->st_mode)) return Change::Kind::kChanged;
  if (opaque) return Change::Kind::kReplaced;
  const bool same = (st.st_mode & 07777) == (host->st_mode & 07777) && st.st_uid == host->st_uid &&
                    st.st_gid == host->st_gid;
  if (same) return std::nullopt;
  return Change::Kind::kChanged;
}

// An upper directory: listed per DirKind, then walked, merged with the host's directory unless that
// is hidden (opaque) or not a directory.
Status VisitSubdir(Walk& walk, const Level& level, const std::string& name, const struct stat& st,
                   const HostStat& host, Relevance relevance) {
  const LayerTree& tree = walk.trees[level.tree];
  Level child{level.tree, -1, -1, Join(level.relative, name), level.depth + 1, false};
  const std::string where = Join(tree.upper, child.relative);
  auto upper = OpenDirBeneath(level.upper, name, O_RDONLY, st, where);
  if (!upper) return std::unexpected(std::move(upper.error()));
  auto opaque = OverlayXattr(upper->get(), "opaque", where);
  if (!opaque) return std::unexpected(std::move(opaque.error()));
  auto opaque_dir = IsOpaque(upper->get(), *opaque, level.fuse, where);
  if (!opaque_dir) return std::unexpected(std::move(opaque_dir.error()));
  const bool is_opaque = *opaque_dir;
  child.fuse = level.fuse;
  const std::optional<Change::Kind> kind = DirKind(is_opaque, host, st);
  if (kind && relevance == Relevance::kInside) AddChange(walk, *kind, level, child.relative, st);
  UniqueFd lower;
  if (host && S_ISDIR(host->st_mode) && !is_opaque) {  // merged with the host's directory
    auto opened = OpenDirBeneath(level.lower, name, O_PATH, *host, Join(tree.lower, child.relative));
    if (!opened) return std::unexpected(std::move(opened.error()));
    lower = std::move(*opened);
    auto marked = HoldsXattrWhiteouts(upper->get(), *opaque, where);
    if (!marked) return std::unexpected(std::move(marked.error()));
    child.xwhiteouts = *marked && !level.fuse;
  }
  child.upper = upper->get();
  child.lower = lower.get();
  return VisitDir(walk, child);
}

// fuse-overlayfs's `.wh.NAME` (box_diff.h): a deletion of the host's NAME unless the upper has NAME
// itself; its opaque markers list nothing.
Status VisitFuseWhiteout(Walk& walk, const Level& level, const std::string& name) {
  if (IsFuseOpaqueMarker(name)) return Ok();
  const LayerTree& tree = walk.trees[level.tree];
  const std::string target = name.substr(std::string_view(kFuseWhiteoutPrefix).size());
  const std::string relative = Join(level.relative, target);
  if (target.empty() || target.find('/') != std::string::npos) return Ok();
  const Relevance relevance = RelevanceOf(walk, InsidePath(walk, level.tree, relative));
  if (relevance != Relevance::kInside) return Ok();
  struct stat st {};
  if (::fstatat(level.upper, target.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return Ok();
  if (errno != ENOENT) return ErrnoError("stat " + Join(tree.upper, relative));
  auto host = LowerStat(level.lower, target, Join(tree.lower, relative));
  if (!host) return std::unexpected(std::move(host.error()));
  if (*host) AddChange(walk, Change::Kind::kDeleted, level, relative, **host);
  return Ok();
}

Status VisitEntry(Walk& walk, const Level& level, const std::string& name) {
  const LayerTree& tree = walk.trees[level.tree];
  if (level.fuse && name.starts_with(kFuseWhiteoutPrefix)) {
    if (level.depth + 1 > walk.options.max_depth)
      return MakeError(Join(tree.upper, Join(level.relative, name)) + ": deeper than " + std::to_string(walk.options.max_depth) + " levels");
    return VisitFuseWhiteout(walk, level, name);
  }
  const std::string relative = Join(level.relative, name);
  const std::string where = Join(tree.upper, relative);
  if (level.depth + 1 > walk.options.max_depth)
    return MakeError(where + ": deeper than " + std::to_string(walk.options.max_depth) + " levels");
  const Relevance relevance = RelevanceOf(walk, InsidePath(walk, level.tree, relative));
  if (relevance == Relevance::kOutside) return Ok();
  struct stat st {};
  if (::fstatat(level.upper, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("stat " + where);
  auto host = LowerStat(level.lower, name, Join(tree.lower, relative));
  if (!host) return std::unexpected(std::move(host.error()));
  auto whiteout = IsWhiteout(level, name, st, where);
  if (!whiteout) return std::unexpected(std::move(whiteout.error()));
  if (*whiteout) {  // a whiteout of nothing on the host changes nothing
    if (*host && relevance == Relevance::kInside) AddChange(walk, Change::Kind::kDeleted, level, relative, **host);
    return Ok();
  }
  if (S_ISDIR(st.st_mode)) return VisitSubdir(walk, level, name, st, *host, relevance);
  if (relevance == Relevance::kInside)
    AddChange(walk, *host ? Change::Kind::kChanged : Change::Kind::kAdded, level, relative, st);
  return Ok();
}

Status VisitDir(Walk& walk, const Level& level) {
  auto names = ReadNames(walk, level.upper, Join(walk.trees[level.tree].upper, level.relative));
  if (!names) return std::unexpected(std::move(names.error()));
  for (const std::string& name : *names) {
    if (auto visited = VisitEntry(walk, level, name); !visited) return visited;
  }
  return Ok();
}

Status DiffTree(Walk& walk, size_t index) {
  const LayerTree& tree = walk.trees[index];
  if (tree.upper.empty() || tree.upper[0] != '/')
    return MakeError("upper layer is not an absolute path: " + tree.upper);
  if (tree.lower.empty() || tree.lower[0] != '/') return MakeError("host tree is not an absolute path: " + tree.lower);
  if (RelevanceOf(walk, walk.insides[index]) == Relevance::kOutside) return Ok();
  const int fd = ::open(tree.upper.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open upper layer " + tree.upper);
  const UniqueFd upper(fd);
  auto lower = OpenHostRoot(tree.lower);
  if (!lower) return std::unexpected(std::move(lower.error()));
  auto marked = HoldsXattrWhiteouts(upper.get(), Xattr(), tree.upper);
  if (!marked) return std::unexpected(std::move(marked.error()));
  return VisitDir(walk, Level{index, upper.get(), lower->get(), "", 0, *marked && lower->valid() && !tree.fuse, tree.fuse});
}

}  // namespace

std::string TextLine(std::string_view bytes) {
  std::string out;
  for (const char c : Utf8Text(bytes)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
      continue;
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", u);
    out += buf;
  }
  return out;
}

namespace {

std::string OctalMode(mode_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

bool IsFuseOpaqueMarker(const std::string& name) { return name == kFuseOpaqueMarker || name == kFuseOpaqueWhiteout; }

Result<std::vector<Change>> DiffLayers(const std::vector<LayerTree>& trees, const DiffOptions& options) {
  Walk walk{trees, options, {}, {}, 0, std::vector<char>(kDentsBytes), {}};
  for (const std::string& only : options.only) {
    auto normalised = Normalise(only, "a path to limit the listing to");
    if (!normalised) return std::unexpected(std::move(normalised.error()));
    walk.only.push_back(std::move(*normalised));
  }
  for (const LayerTree& tree : trees) {
    auto inside = Normalise(tree.inside, "a box tree's inside path");
    if (!inside) return std::unexpected(std::move(inside.error()));
    walk.insides.push_back(std::move(*inside));
  }
  for (size_t i = 0; i < trees.size(); ++i) {
    auto done = DiffTree(walk, i);
    if (!done) return std::unexpected(std::move(done.error()).WithContext("diff " + walk.insides[i]));
  }
  std::stable_sort(walk.changes.begin(), walk.changes.end(),
                   [](const Change& a, const Change& b) { return a.path < b.path; });
  return std::move(walk.changes);
}

const char* ChangeKindName(Change::Kind k) {
  switch (k) {
    case Change::Kind::kAdded: return "added";
    case Change::Kind::kChanged: return "changed";
    case Change::Kind::kDeleted: return "deleted";
    case Change::Kind::kReplaced: return "replaced";
  }
  return "unknown";
}

char ChangeKindLetter(Change::Kind k) {
  switch (k) {
    case Change::Kind::kAdded: return 'A';
    case Change::Kind::kChanged: return 'C';
    case Change::Kind::kDeleted: return 'D';
    case Change::Kind::kReplaced: return 'R';
  }
  return '?';
}

nlohmann::json ChangesToJson(const std::vector<Change>& changes) {
  nlohmann::json out = nlohmann::json::array();
  for (const Change& c : changes) {
    nlohmann::json j = {{"kind", ChangeKindName(c.kind)}, {"path", c.path}, {"type", c.type},
                        {"setid", c.setid}, {"special", c.special}};
    if (c.kind != Change::Kind::kDeleted) j["mode"] = OctalMode(c.mode);
    if (c.kind != Change::Kind::kDeleted && c.type == "file") j["size"] = c.size;
    out.push_back(std::move(j));
  }
  return out;
}

std::string ChangesToText(const std::vector<Change>& changes) {
  std::string out;
  for (const Change& c : changes) {
    out += ChangeKindLetter(c.kind);
    out += ' ' + TextLine(c.path) + " (" + c.type;
    if (c.kind != Change::Kind::kDeleted && c.type == "file") out += ", " + std::to_string(c.size) + " B";
    if (c.setid) out += ", setid";
    if (c.special) out += ", special";
    out += ")\n";
  }
  return out;
}

}  // namespace airlock::box
