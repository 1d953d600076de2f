#include "box/box_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include "core/json_text.h"
#include "kernel/syscalls.h"

namespace airlock::box {

Result<UniqueFd> OpenParentBeneath(int root, const std::string& rel, std::string* leaf) {
  const size_t slash = rel.rfind('/');
  const std::string parent = slash == std::string::npos ? "." : rel.substr(0, slash);
  *leaf = slash == std::string::npos ? rel : rel.substr(slash + 1);
  UniqueFd fd(kernel::Openat2(root, parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0, kBeneath));
  if (!fd) return ErrnoError(fmt::format("'{}' (a symlink or a missing directory on the way is never followed)", Utf8Text(parent)));
  return fd;
}

Result<std::vector<std::string>> ReadDirNames(int fd, const std::string& where, std::vector<char>& buffer) {
  if (buffer.empty()) buffer.resize(64 * 1024);
  std::vector<std::string> names;
  for (;;) {
    const ssize_t n = ::getdents64(fd, buffer.data(), buffer.size());
    if (n < 0) return ErrnoError("read directory " + where);
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      const auto* d = reinterpret_cast<const struct dirent64*>(buffer.data() + off);
      off += d->d_reclen;
      const std::string_view name(d->d_name);
      if (name != "." && name != "..") names.emplace_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

int CopyData(int src, int dst, uint64_t max, bool* read_failed) {
  char buf[65536];
  if (read_failed) *read_failed = false;
  for (uint64_t copied = 0; copied < max;) {
    const ssize_t n = ::read(src, buf, static_cast<size_t>(std::min<uint64_t>(sizeof buf, max - copied)));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (read_failed) *read_failed = true;
      return errno;
    }
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(dst, buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno != EINTR) return errno;
      if (w == 0) return ENOSPC;
      if (w > 0) done += w;
    }
    copied += static_cast<uint64_t>(n);
  }
  return 0;
}

}  // namespace airlock::box
