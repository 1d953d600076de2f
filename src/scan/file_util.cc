#include "scan/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "core/unique_fd.h"

namespace airlock::scan {

Result<std::string> ReadWholeFile(const std::string& path, uint64_t max_bytes, bool* truncated,
                                  bool no_follow) {
  UniqueFd owned;
  int fd = STDIN_FILENO;
  if (path != "-") {
    // O_NONBLOCK: a FIFO or device named as input must not block open(); regular files ignore it.
    owned.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (no_follow ? O_NOFOLLOW : 0)));
    if (!owned) return ErrnoError("open " + path);
    struct stat st {};
    if (::fstat(owned.get(), &st) != 0) return ErrnoError("fstat " + path);
    if (!S_ISREG(st.st_mode)) return MakeError(path + ": not a regular file");
    fd = owned.get();
  }
  std::string data;
  if (truncated != nullptr) *truncated = false;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read " + path);
    }
    if (n == 0) break;
    uint64_t room = max_bytes - data.size();
    if (static_cast<uint64_t>(n) > room) {
      data.append(buf, room);
      if (truncated != nullptr) *truncated = true;
      break;
    }
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

}  // namespace airlock::scan
