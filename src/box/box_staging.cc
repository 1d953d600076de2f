// The check of what the sandboxed importer wrote, before a box is made of it (box_transfer.h).
#include "box/box_staging.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "box/box_archive.h"
#include "box/box_fs.h"
#include "core/file_read.h"
#include "core/json_text.h"

namespace airlock::box {
namespace {

struct Check {
  uid_t uid;  // the owner everything ends with (the caller)
  gid_t gid;
  bool chown;
  std::vector<char> dents;
  size_t entries = 0;
  uint64_t setid_dropped = 0;
};

// The names of `fd`'s xattrs; an unreadable list is an error.
Result<std::vector<std::string>> XattrNames(int fd, const std::string& where) {
  char names[65536];
  const ssize_t n = ::flistxattr(fd, names, sizeof names);
  if (n < 0) return ErrnoError("list the xattrs of " + where);
  std::vector<std::string> out;
  for (ssize_t off = 0; off < n; off += static_cast<ssize_t>(std::strlen(names + off)) + 1) out.emplace_back(names + off);
  return out;
}

// Only xattrs XattrAllowed accepts (`mark_ok`: the whiteout mark too). True when the mark is there.
Result<bool> CheckXattrs(int fd, const std::string& where, bool mark_ok) {
  auto names = XattrNames(fd, where);
  if (!names) return std::unexpected(names.error());
  bool marked = false;
  for (const auto& n : *names) {
    if (mark_ok && n == kWhiteoutMark) marked = true;
    else if (!XattrAllowed(n)) return MakeError(fmt::format("{}: the xattr {} is not allowed in a box", where, Utf8Text(n)));
  }
  return marked;
}

Status Own(Check& c, int dir, const std::string& name, const std::string& where) {
  if (c.chown && ::fchownat(dir, name.c_str(), c.uid, c.gid, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("chown " + where);
  return Ok();
}

// A regular file: a whiteout mark becomes the whiteout; setid bits go.
Status CheckFile(Check& c, int dir, const std::string& name, const struct stat& st, const std::string& where) {
  UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat now {};
  if (!fd || ::fstat(fd.get(), &now) != 0 || now.st_ino != st.st_ino) return ErrnoError("open " + where);
  auto marked = CheckXattrs(fd.get(), where, st.st_size == 0);
  if (!marked) return std::unexpected(marked.error());
  if (*marked) {
    fd.reset();
    if (::unlinkat(dir, name.c_str(), 0) != 0 || ::mknodat(dir, name.c_str(), S_IFCHR | 0600, makedev(0, 0)) != 0) {
      return ErrnoError("make the whiteout " + where);
    }
    return Own(c, dir, name, where);
  }
  if (Status s = Own(c, dir, name, where); !s) return s;
  if (st.st_mode & (S_ISUID | S_ISGID)) {
    ++c.setid_dropped;
    if (::fchmod(fd.get(), st.st_mode & 01777) != 0) return ErrnoError("chmod " + where);
  }
  return Ok();
}

Status CheckDir(Check& c, int fd, const std::string& where, int depth);

Status CheckEntry(Check& c, int dir, const std::string& name, const std::string& where, int depth) {
  if (++c.entries > kMaxEntries) return MakeError(fmt::format("more than {} entries", kMaxEntries));
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("stat " + where);
  if (S_ISREG(st.st_mode)) return CheckFile(c, dir, name, st, where);
  if (S_ISLNK(st.st_mode) || S_ISFIFO(st.st_mode)) return Own(c, dir, name, where);
  if (!S_ISDIR(st.st_mode)) return MakeError(fmt::format("{}: a device node or socket, which the importer never writes", where));
  if (depth >= kMaxDepth) return MakeError(fmt::format("{}: deeper than {} levels", where, kMaxDepth));
  // The box may have kept a directory its owner cannot enter (mode 000): opened for the check, then as it was.
  const bool closed = (st.st_mode & 0500) != 0500;
  if (closed && ::fchmodat(dir, name.c_str(), 0700, 0) != 0) return ErrnoError("chmod " + where);
  UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + where);
  if (auto x = CheckXattrs(fd.get(), where, false); !x) return std::unexpected(x.error());
  if (Status s = CheckDir(c, fd.get(), where, depth + 1); !s) return s;
  if (st.st_mode & S_ISGID) ++c.setid_dropped;
  if ((closed || (st.st_mode & S_ISGID)) && ::fchmod(fd.get(), st.st_mode & 01777) != 0) return ErrnoError("chmod " + where);
  return Own(c, dir, name, where);
}

Status CheckDir(Check& c, int fd, const std::string& where, int depth) {
  auto names = ReadDirNames(fd, where, c.dents);
  if (!names) return std::unexpected(names.error());
  for (const auto& n : *names) {
    if (Status s = CheckEntry(c, fd, n, where + "/" + Utf8Text(n), depth); !s) return s;
  }
  return Ok();
}

// The top of the staging directory: only the manifest, the baseline and layers/<i>/upper.
Status CheckLayout(int root, const std::string& dir, size_t trees, std::vector<char>& dents) {
  auto names = ReadDirNames(root, dir, dents);
  if (!names) return std::unexpected(names.error());
  for (const auto& n : *names) {
    struct stat st {};
    if (::fstatat(root, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("stat " + dir + "/" + n);
    const bool file = n == kManifestMember || n == kBaselineMember;
    if (!(file ? S_ISREG(st.st_mode) : n == "layers" && S_ISDIR(st.st_mode))) {
      return MakeError(fmt::format("the importer left {}/{}, which is no part of a box", dir, Utf8Text(n)));
    }
  }
  UniqueFd layers(::openat(root, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  auto ids = layers ? ReadDirNames(layers.get(), dir + "/layers", dents) : ErrnoError("open " + dir + "/layers");
  if (!ids) return std::unexpected(ids.error());
  if (ids->size() != trees) return MakeError(fmt::format("{}/layers holds {} layer(s); the manifest lists {}", dir, ids->size(), trees));
  for (size_t i = 0; i < trees; ++i) {
    std::vector<std::string> one = {"upper"};
    UniqueFd layer(::openat(layers.get(), std::to_string(i).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    auto subs = layer ? ReadDirNames(layer.get(), dir, dents) : ErrnoError(fmt::format("open {}/layers/{}", dir, i));
    if (!subs) return std::unexpected(subs.error());
    if (*subs != one) return MakeError(fmt::format("{}/layers/{} holds more than upper/", dir, i));
  }
  return Ok();
}

}  // namespace

Result<StagedArchive> VerifyStaging(const std::string& dir, uid_t uid, gid_t gid) {
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return ErrnoError("open " + dir);
  struct stat st {};
  if (::fstatat(root.get(), kManifestMember, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
    return MakeError("the importer wrote no manifest (not an airlock box export?)");
  }
  auto text = ReadRegularFileBounded(dir + "/" + kManifestMember, kMaxManifestBytes, "the manifest is larger than 1 MiB");
  if (!text) return std::unexpected(text.error());
  auto manifest = ParseManifest(*text);
  if (!manifest) return std::unexpected(manifest.error());
  Check c{uid, gid, ::geteuid() == 0, {}};
  if (Status s = CheckLayout(root.get(), dir, manifest->trees.size(), c.dents); !s) return std::unexpected(s.error());
  for (size_t i = 0; i < manifest->trees.size(); ++i) {
    const std::string upper = fmt::format("layers/{}/upper", i);
    UniqueFd fd(::openat(root.get(), upper.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return ErrnoError("open " + dir + "/" + upper);
    if (Status s = CheckDir(c, fd.get(), dir + "/" + upper, 0); !s) return std::unexpected(s.error());
    for (const std::string& d : {upper, fmt::format("layers/{}", i)}) {
      if (Status s = Own(c, root.get(), d, d); !s) return std::unexpected(s.error());
    }
  }
  for (const char* top : {kManifestMember, kBaselineMember, "layers", "."}) {
    if (c.chown && ::fchownat(root.get(), top, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT) return ErrnoError(fmt::format("chown {}/{}", dir, top));
  }
  return StagedArchive{std::move(*manifest), c.setid_dropped};
}

}  // namespace airlock::box
