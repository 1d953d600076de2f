#include "scan/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

namespace airlock::scan {

Result<UniqueFd> OpenInputFile(const std::string& path, bool no_follow) {
  if (path == "-") {
    UniqueFd in(::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3));
    if (!in) return ErrnoError("read stdin");
    return in;
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (no_follow ? O_NOFOLLOW : 0)));
  if (!fd) return ErrnoError("open " + path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("fstat " + path);
  if (!S_ISREG(st.st_mode)) return MakeError(path + ": not a regular file");
  return fd;
}

Result<std::string> ReadBounded(int fd, const std::string& name, uint64_t max_bytes, bool* truncated) {
  std::string data;
  if (truncated != nullptr) *truncated = false;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read " + name);
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

uid_t SandboxHostUid() { return ::geteuid() == 0 ? 65534 : ::geteuid(); }

bool HandToSandbox(const std::string& path) {
  if (::geteuid() != 0) return true;
  return ::lchown(path.c_str(), SandboxHostUid(), SandboxHostUid()) == 0;
}

bool WriteNewFile(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return false;
  while (!data.empty()) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

ScanTempDir::ScanTempDir(const char* prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base == '/' ? base : "/tmp") + "/" + prefix + ".XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

ScanTempDir::~ScanTempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);  // never follows symlinks
}

Result<std::string> ReadWholeFile(const std::string& path, uint64_t max_bytes, bool* truncated, bool no_follow) {
  auto fd = OpenInputFile(path, no_follow);
  if (!fd) return std::unexpected(fd.error());
  return ReadBounded(fd->get(), path, max_bytes, truncated);
}

}  // namespace airlock::scan
