// airlock-boxtar export (contract in box/boxtar.h, format in box/box_archive.h).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <cstdio>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "box/box_archive.h"
#include "box/box_fs.h"
#include "box/box_store.h"
#include "box/boxtar.h"
#include "core/clock.h"
#include "core/file_read.h"
#include "core/json_text.h"

namespace airlock::box {
namespace {

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;
using EntryPtr = std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)>;

struct Exporter {
  struct archive* a = nullptr;
  std::vector<char> dents;
  std::vector<char> buffer = std::vector<char>(256 * 1024);
  uint64_t entries = 0, bytes = 0;
  std::vector<std::string> sockets;
};

EntryPtr NewEntry(const std::string& name, mode_t mode, const struct stat* st) {
  EntryPtr e(archive_entry_new(), archive_entry_free);
  archive_entry_copy_pathname(e.get(), name.c_str());
  archive_entry_set_mode(e.get(), mode);
  if (st) archive_entry_set_mtime(e.get(), st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  return e;
}

Status WriteHeader(Exporter& x, struct archive_entry* e, const std::string& where) {
  if (++x.entries > kMaxEntries) return MakeError(fmt::format("the box has more than {} entries: too large to export", kMaxEntries));
  if (archive_write_header(x.a, e) != ARCHIVE_OK) return MakeError(fmt::format("write {}: {}", where, archive_error_string(x.a)));
  return Ok();
}

Status WriteData(Exporter& x, const char* data, size_t size, const std::string& where) {
  if (archive_write_data(x.a, data, size) != static_cast<la_ssize_t>(size)) {
    return MakeError(fmt::format("write {}: {}", where, archive_error_string(x.a)));
  }
  return Ok();
}

// A whole small file of ours (manifest, baseline) as one member.
Status WriteTextMember(Exporter& x, const char* name, const std::string& text) {
  EntryPtr e = NewEntry(name, S_IFREG | 0600, nullptr);
  archive_entry_set_mtime(e.get(), ::time(nullptr), 0);
  archive_entry_set_size(e.get(), static_cast<la_int64_t>(text.size()));
  if (Status s = WriteHeader(x, e.get(), name); !s) return s;
  x.bytes += text.size();
  return WriteData(x, text.data(), text.size(), name);
}

// The entry's xattrs that XattrAllowed accepts: `user.*`, of overlayfs's only opaque/whiteout(s). The
// others stay behind: security.capability, overlayfs's origin (a handle into this host's lower tree).
Status AddXattrs(int fd, struct archive_entry* e, const std::string& where) {
  char names[65536];
  const ssize_t n = ::flistxattr(fd, names, sizeof names);
  if (n < 0) return ErrnoError("list the xattrs of " + where);
  for (ssize_t off = 0; off < n; off += static_cast<ssize_t>(std::strlen(names + off)) + 1) {
    const std::string key(names + off);
    if (!XattrAllowed(key)) continue;
    char value[65536];
    const ssize_t len = ::fgetxattr(fd, key.c_str(), value, sizeof value);
    if (len < 0) return ErrnoError(fmt::format("read xattr {} of {}", key, where));
    archive_entry_xattr_add_entry(e, key.c_str(), value, static_cast<size_t>(len));
  }
  return Ok();
}

// Opens `name` in `dir` as the entry `seen` (O_NOFOLLOW, O_NONBLOCK: a fifo swapped in never blocks).
Result<UniqueFd> OpenSeen(int dir, const std::string& name, int flags, const struct stat& seen, const std::string& where) {
  UniqueFd fd(::openat(dir, name.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + where + (errno == EACCES ? " (unreadable: the box made it so; `box discard` it or fix its mode)" : ""));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || st.st_ino != seen.st_ino || st.st_dev != seen.st_dev) return MakeError(where + ": replaced during the export");
  return fd;
}

Status ExportFile(Exporter& x, int dir, const std::string& name, const struct stat& st, const std::string& member, const std::string& where) {
  auto fd = OpenSeen(dir, name, O_RDONLY, st, where);
  if (!fd) return std::unexpected(fd.error());
  x.bytes += static_cast<uint64_t>(st.st_size);
  if (x.bytes > kMaxTotalBytes) return MakeError(fmt::format("the box holds more than {} bytes: too large to export", kMaxTotalBytes));
  EntryPtr e = NewEntry(member, st.st_mode, &st);
  archive_entry_set_size(e.get(), st.st_size);
  if (Status s = AddXattrs(fd->get(), e.get(), where); !s) return s;
  if (Status s = WriteHeader(x, e.get(), where); !s) return s;
  off_t left = st.st_size;
  while (left > 0) {
    const ssize_t n = ::read(fd->get(), x.buffer.data(), std::min<off_t>(left, static_cast<off_t>(x.buffer.size())));
    if (n <= 0) return n < 0 ? ErrnoError("read " + where) : MakeError(where + ": shrank during the export");
    if (Status s = WriteData(x, x.buffer.data(), static_cast<size_t>(n), where); !s) return s;
    left -= n;
  }
  return Ok();
}

Status ExportSymlink(Exporter& x, int dir, const std::string& name, const struct stat& st, const std::string& member, const std::string& where) {
  std::string target(PATH_MAX, '\0');
  const ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
  if (n < 0) return ErrnoError("read the symlink " + where);
  target.resize(static_cast<size_t>(n));
  EntryPtr e = NewEntry(member, st.st_mode, &st);
  archive_entry_copy_symlink(e.get(), target.c_str());
  return WriteHeader(x, e.get(), where);
}

Status ExportDir(Exporter& x, size_t layer, int fd, const std::string& rel, const std::string& where, int depth);

// One entry of an upper directory, by type (contract in boxtar.h).
Status ExportEntry(Exporter& x, size_t layer, int dir, const std::string& name, const std::string& rel, const std::string& where, int depth) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("stat " + where);
  const std::string member = LayerMemberName(layer, rel);
  if (S_ISREG(st.st_mode)) return ExportFile(x, dir, name, st, member, where);
  if (S_ISLNK(st.st_mode)) return ExportSymlink(x, dir, name, st, member, where);
  if (S_ISSOCK(st.st_mode)) {
    x.sockets.push_back(where);
    return Ok();
  }
  if (S_ISDIR(st.st_mode)) {
    if (depth >= kMaxDepth) return MakeError(fmt::format("{}: deeper than {} levels: too deep to export", where, kMaxDepth));
    auto fd = OpenSeen(dir, name, O_RDONLY | O_DIRECTORY, st, where);
    if (!fd) return std::unexpected(fd.error());
    EntryPtr e = NewEntry(member, st.st_mode, &st);
    if (Status s = AddXattrs(fd->get(), e.get(), where); !s) return s;
    if (Status s = WriteHeader(x, e.get(), where); !s) return s;
    return ExportDir(x, layer, fd->get(), rel, where, depth + 1);
  }
  const bool whiteout = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
  if (!whiteout && !S_ISFIFO(st.st_mode)) {
    return MakeError(fmt::format("{}: a device node ({}:{}) in the box is never exported; `airlock box discard` it first", where,
                                 major(st.st_rdev), minor(st.st_rdev)));
  }
  EntryPtr e = NewEntry(member, st.st_mode, &st);
  return WriteHeader(x, e.get(), where);
}

Status ExportDir(Exporter& x, size_t layer, int fd, const std::string& rel, const std::string& where, int depth) {
  auto names = ReadDirNames(fd, where, x.dents);
  if (!names) return std::unexpected(names.error());
  for (const auto& n : *names) {
    const std::string sub = rel.empty() ? n : rel + "/" + n;
    if (Status s = ExportEntry(x, layer, fd, n, sub, where + "/" + Utf8Text(n), depth); !s) return s;
  }
  return Ok();
}

Status ExportBox(Exporter& x, const BoxInfo& box) {
  ArchiveManifest m{box.profile, box.trees, UtcTimeNow(), box.name};
  if (Status s = WriteTextMember(x, kManifestMember, DumpJson(ManifestToJson(m), 2) + "\n"); !s) return s;
  auto baseline = ReadRegularFileBounded(box.dir + "/baseline.json", 256u << 20, "baseline.json is larger than 256 MiB");
  if (baseline) {
    if (Status s = WriteTextMember(x, kBaselineMember, *baseline); !s) return s;
  } else if (baseline.error().err() != ENOENT) {
    return std::unexpected(baseline.error());
  }
  for (size_t i = 0; i < box.trees.size(); ++i) {
    UniqueFd upper(::open(box.UpperDir(i).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!upper) return ErrnoError("open " + box.UpperDir(i));
    if (Status s = ExportDir(x, i, upper.get(), "", box.UpperDir(i), 0); !s) return s;
  }
  return Ok();
}

// The archive written to `tmp` (already open as fd), closed and synced.
Status WriteArchive(Exporter& x, const BoxInfo& box, int fd) {
  ArchivePtr a(archive_write_new(), archive_write_free);
  x.a = a.get();
  if (archive_write_set_format_pax(x.a) != ARCHIVE_OK || archive_write_set_options(x.a, "hdrcharset=BINARY") != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(x.a, 1) != ARCHIVE_OK || archive_write_open_fd(x.a, fd) != ARCHIVE_OK) {
    return MakeError(fmt::format("libarchive: {}", archive_error_string(x.a)));
  }
  if (Status s = ExportBox(x, box); !s) return s;
  if (archive_write_close(x.a) != ARCHIVE_OK) return MakeError(fmt::format("write the archive: {}", archive_error_string(x.a)));
  if (::fsync(fd) != 0) return ErrnoError("sync the archive");
  return Ok();
}

Status ExportTo(Exporter& x, const BoxInfo& box, const std::string& out) {
  const std::string tmp = out + ".part";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return ErrnoError("create " + tmp);
  Status s = WriteArchive(x, box, fd.get());
  if (s && ::rename(tmp.c_str(), out.c_str()) != 0) s = ErrnoError("rename " + tmp + " to " + out);
  if (!s) ::unlink(tmp.c_str());
  return s;
}

}  // namespace

int ExportMain(const std::string& store, const std::string& name, const std::string& out) {
  const auto start = std::chrono::steady_clock::now();
  auto box = OpenBox(store, name);
  Exporter x;
  Status s = box ? ExportTo(x, *box, out) : Status(std::unexpected(box.error()));
  if (!s) {
    std::fprintf(stderr, "airlock-boxtar: export of box %s: %s\n", name.c_str(), s.error().What().c_str());
    return 1;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json j = {{"entries", x.entries}, {"bytes", x.bytes}, {"seconds", seconds}, {"sockets_skipped", x.sockets}};
  std::printf("%s\n", DumpJson(j).c_str());
  return 0;
}

}  // namespace airlock::box
