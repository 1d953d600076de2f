#include "box/box_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
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

}  // namespace airlock::box
