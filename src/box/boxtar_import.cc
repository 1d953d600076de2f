// airlock-boxtar import: reads a hostile archive inside a sandbox (contract in box/boxtar.h).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "box/box_archive.h"
#include "box/box_fs.h"
#include "box/boxtar.h"
#include "core/json_text.h"
#include "kernel/syscalls.h"

namespace airlock::box {
namespace {

constexpr uint64_t kMaxBaselineBytes = 256u << 20;
using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;

struct DirTimes {
  size_t layer;
  std::string rel;
  mode_t mode;
  struct timespec mtime;
};

struct Importer {
  struct archive* a = nullptr;
  int out = -1;                      // the staging directory
  size_t trees = 0;                  // from the manifest; 0 until it is read
  std::vector<UniqueFd> uppers;      // DIR/layers/<i>/upper
  std::vector<DirTimes> dirs;        // modes and times applied last
  std::vector<char> buffer = std::vector<char>(256 * 1024);
  uint64_t entries = 0, bytes = 0, setid_dropped = 0;
  bool baseline_seen = false;
};

Error MemberError(const std::string& member, const std::string& why) {
  return Error(fmt::format("archive member '{}': {}", Utf8Text(member), why));
}

// The member's data into `fd`, at most `limit` bytes in all (the declared size is never trusted).
Status CopyData(Importer& x, int fd, const std::string& member, uint64_t limit) {
  for (;;) {
    const la_ssize_t n = archive_read_data(x.a, x.buffer.data(), x.buffer.size());
    if (n == 0) return Ok();
    if (n < 0) return std::unexpected(MemberError(member, fmt::format("unreadable ({}): a truncated or damaged archive", archive_error_string(x.a))));
    x.bytes += static_cast<uint64_t>(n);
    if (x.bytes > limit) return std::unexpected(MemberError(member, fmt::format("more than {} bytes of data: refused", limit)));
    for (la_ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(fd, x.buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0) return ErrnoError(fmt::format("write {}", Utf8Text(member)));
      done += w;
    }
  }
}

// A whole file of ours (the manifest, the baseline) into `out`/name, returned as text when asked.
Status WriteOwnFile(Importer& x, const char* name, uint64_t limit, std::string* text) {
  UniqueFd fd(::openat(x.out, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return std::unexpected(MemberError(name, errno == EEXIST ? "appears twice" : std::string("cannot be written: ") + std::strerror(errno)));
  const uint64_t before = x.bytes;
  if (Status s = CopyData(x, fd.get(), name, before + limit); !s) return s;
  if (!text) return Ok();
  text->resize(x.bytes - before);
  if (::pread(fd.get(), text->data(), text->size(), 0) != static_cast<ssize_t>(text->size())) return ErrnoError(std::string("read back ") + name);
  return Ok();
}

Status ReadManifest(Importer& x, struct archive_entry* e) {
  const std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
  if (name != kManifestMember || archive_entry_filetype(e) != AE_IFREG) {
    return MakeError(fmt::format("not an airlock box export: its first member is '{}', not {}", Utf8Text(name), kManifestMember));
  }
  ++x.entries;
  std::string text;
  if (Status s = WriteOwnFile(x, kManifestMember, kMaxManifestBytes, &text); !s) return s;
  auto m = ParseManifest(text);
  if (!m) return std::unexpected(m.error());
  x.trees = m->trees.size();
  if (::mkdirat(x.out, "layers", 0700) != 0) return ErrnoError("create layers");
  for (size_t i = 0; i < x.trees; ++i) {
    for (const std::string& d : {fmt::format("layers/{}", i), fmt::format("layers/{}/upper", i)}) {
      if (::mkdirat(x.out, d.c_str(), 0700) != 0) return ErrnoError("create " + d);
    }
    x.uppers.emplace_back(kernel::Openat2(x.out, fmt::format("layers/{}/upper", i).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, kBeneath));
    if (!x.uppers.back()) return ErrnoError("open the new layer");
  }
  return Ok();
}

// Permission bits as they will be kept: setuid/setgid dropped (counted).
mode_t KeptMode(Importer& x, mode_t mode) {
  if (mode & (S_ISUID | S_ISGID)) ++x.setid_dropped;
  return mode & 01777;
}

Status SetXattrs(int fd, struct archive_entry* e, const std::string& member) {
  const char* key = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
    if (!XattrAllowed(key)) return std::unexpected(MemberError(member, fmt::format("the xattr '{}' is refused (only user.*, of user.overlay.* only opaque/whiteout/whiteouts)", Utf8Text(key))));
    if (::fsetxattr(fd, key, value, size, 0) != 0) return ErrnoError(fmt::format("set xattr {} on {}", Utf8Text(key), Utf8Text(member)));
  }
  return Ok();
}

Status CreateFile(Importer& x, int dir, const std::string& leaf, struct archive_entry* e, const std::string& member) {
  UniqueFd fd(::openat(dir, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return std::unexpected(MemberError(member, errno == EEXIST ? "appears twice (or over another entry)" : std::string("cannot be created: ") + std::strerror(errno)));
  if (Status s = CopyData(x, fd.get(), member, kMaxTotalBytes); !s) return s;
  if (Status s = SetXattrs(fd.get(), e, member); !s) return s;
  const struct timespec times[2] = {{0, UTIME_OMIT}, {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  if (::fchmod(fd.get(), KeptMode(x, archive_entry_perm(e))) != 0 || ::futimens(fd.get(), times) != 0) return ErrnoError("set the mode of " + Utf8Text(member));
  return Ok();
}

// A whiteout, as the sandbox may write it: an empty file marked kWhiteoutMark (box_archive.h).
Status CreateWhiteoutMark(int dir, const std::string& leaf, const std::string& member) {
  UniqueFd fd(::openat(dir, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return std::unexpected(MemberError(member, errno == EEXIST ? "appears twice" : std::string("cannot be created: ") + std::strerror(errno)));
  if (::fsetxattr(fd.get(), kWhiteoutMark, "y", 1, 0) != 0) return ErrnoError("mark the whiteout " + Utf8Text(member));
  return Ok();
}

Status CreateEntry(Importer& x, int dir, const std::string& leaf, struct archive_entry* e, const Member& m, const std::string& name) {
  const struct timespec times[2] = {{0, UTIME_OMIT}, {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
      return CreateFile(x, dir, leaf, e, name);
    case AE_IFDIR: {
      if (::mkdirat(dir, leaf.c_str(), 0700) != 0) return std::unexpected(MemberError(name, errno == EEXIST ? "appears twice" : std::strerror(errno)));
      UniqueFd fd(::openat(dir, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) return ErrnoError("open " + Utf8Text(name));
      if (Status s = SetXattrs(fd.get(), e, name); !s) return s;
      x.dirs.push_back({m.layer, m.rel, KeptMode(x, archive_entry_perm(e)), times[1]});
      return Ok();
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (!target || !*target) return std::unexpected(MemberError(name, "a symlink without a target"));
      if (::symlinkat(target, dir, leaf.c_str()) != 0) return std::unexpected(MemberError(name, errno == EEXIST ? "appears twice" : std::strerror(errno)));
      if (::utimensat(dir, leaf.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("set the time of " + Utf8Text(name));
      return Ok();
    }
    case AE_IFIFO:
      if (::mknodat(dir, leaf.c_str(), S_IFIFO | (archive_entry_perm(e) & 0777), 0) != 0) return std::unexpected(MemberError(name, std::strerror(errno)));
      return Ok();
    case AE_IFCHR:
      if (archive_entry_rdevmajor(e) == 0 && archive_entry_rdevminor(e) == 0) return CreateWhiteoutMark(dir, leaf, name);
      return std::unexpected(MemberError(name, fmt::format("a character device ({}:{}): only whiteouts (0:0) belong in a box", archive_entry_rdevmajor(e), archive_entry_rdevminor(e))));
    default:
      return std::unexpected(MemberError(name, "a block device, socket or unknown type: refused"));
  }
}

Status ImportMember(Importer& x, struct archive_entry* e) {
  const char* raw = archive_entry_pathname(e);
  const std::string name = raw ? raw : "";
  if (++x.entries > kMaxEntries) return MakeError(fmt::format("more than {} members: refused", kMaxEntries));
  auto m = ParseMemberName(name, x.trees);
  if (!m) return std::unexpected(m.error());
  if (archive_entry_hardlink(e)) return std::unexpected(MemberError(name, "a hard link: box exports hold none (refused)"));
  if (m->kind == Member::Kind::kManifest) return std::unexpected(MemberError(name, "appears twice"));
  if (m->kind == Member::Kind::kBaseline) {
    if (archive_entry_filetype(e) != AE_IFREG) return std::unexpected(MemberError(name, "not a regular file"));
    return WriteOwnFile(x, kBaselineMember, kMaxBaselineBytes, nullptr);
  }
  if (m->rel.empty()) return Ok();  // the upper itself: made with the manifest's trees
  std::string leaf;
  auto dir = OpenParentBeneath(x.uppers[m->layer].get(), m->rel, &leaf);
  if (!dir) return std::unexpected(MemberError(name, "its directory is not in the archive before it, or is a symlink: " + dir.error().What()));
  return CreateEntry(x, dir->get(), leaf, e, *m, name);
}

// Directory modes and times, deepest first (a 0500 directory got its entries before).
Status ApplyDirModes(Importer& x) {
  for (auto it = x.dirs.rbegin(); it != x.dirs.rend(); ++it) {
    UniqueFd fd(kernel::Openat2(x.uppers[it->layer].get(), it->rel.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, kBeneath));
    const struct timespec times[2] = {{0, UTIME_OMIT}, it->mtime};
    if (!fd || ::fchmod(fd.get(), it->mode) != 0 || ::futimens(fd.get(), times) != 0) return ErrnoError("set the mode of " + Utf8Text(it->rel));
  }
  return Ok();
}

Status ImportAll(Importer& x) {
  ArchivePtr a(archive_read_new(), archive_read_free);
  x.a = a.get();
  if (archive_read_support_format_tar(x.a) != ARCHIVE_OK || archive_read_open_fd(x.a, 0, 64 * 1024) != ARCHIVE_OK) {
    return MakeError(fmt::format("not an airlock box export (not a tar archive): {}", archive_error_string(x.a)));
  }
  struct archive_entry* e = nullptr;
  for (int r; (r = archive_read_next_header(x.a, &e)) != ARCHIVE_EOF;) {
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      return MakeError(fmt::format("{}: {}", x.trees == 0 ? "not an airlock box export (not a tar archive)" : "a truncated or damaged archive after "
                                   + std::to_string(x.entries) + " member(s)", archive_error_string(x.a)));
    }
    Status s = x.trees == 0 ? ReadManifest(x, e) : ImportMember(x, e);
    if (!s) return s;
  }
  if (x.trees == 0) return MakeError("not an airlock box export: an empty archive");
  return ApplyDirModes(x);
}

}  // namespace

int ImportMain(const std::string& dir) {
  const auto start = std::chrono::steady_clock::now();
  Importer x;
  UniqueFd out(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  x.out = out.get();
  Status s = out ? ImportAll(x) : ErrnoError("open " + dir);
  if (!s) {
    std::fprintf(stderr, "airlock-boxtar: %s\n", s.error().What().c_str());
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json j = {{"entries", x.entries}, {"bytes", x.bytes}, {"seconds", seconds}, {"setid_dropped", x.setid_dropped}};
  std::printf("%s\n", DumpJson(j).c_str());
  return 0;
}

}  // namespace airlock::box
