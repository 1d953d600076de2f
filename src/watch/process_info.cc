#include "watch/process_info.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <string>

namespace airlock::watch {

bool IsInterpreterPath(std::string_view exe) {
  size_t slash = exe.rfind('/');
  std::string_view base = slash == std::string_view::npos ? exe : exe.substr(slash + 1);
  for (std::string_view exact : {"sh", "bash", "dash", "zsh", "ksh", "mksh", "busybox", "node", "nodejs", "ld.so"}) {
    if (base == exact) return true;
  }
  for (std::string_view prefix : {"python", "perl", "ruby", "php", "lua", "tclsh", "ld-linux", "ld-"}) {
    if (base.starts_with(prefix)) {
      if (prefix == "ld-" || prefix == "ld-linux") return base.find(".so") != std::string_view::npos;
      return true;
    }
  }
  return false;
}

pid_t ParsePpid(std::string_view text) {
  size_t close = text.rfind(')');
  if (close == std::string_view::npos || close + 4 > text.size()) return -1;
  std::string_view rest = text.substr(close + 2);  // "S PPID ..."
  size_t sp = rest.find(' ');
  if (sp == std::string_view::npos) return -1;
  rest.remove_prefix(sp + 1);
  pid_t ppid = -1;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), ppid);
  if (ec != std::errc() || (p != rest.data() + rest.size() && *p != ' ')) return -1;
  return ppid;
}

std::string ExeOf(pid_t pid) {
  std::array<char, 4096> buf{};
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size() - 1);
  if (n <= 0) return "";
  return std::string(buf.data(), static_cast<size_t>(n));
}

namespace {

pid_t ParentOf(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  std::array<char, 1024> buf{};
  ssize_t n = ::read(fd, buf.data(), buf.size() - 1);
  ::close(fd);
  if (n <= 0) return -1;
  return ParsePpid(std::string_view(buf.data(), static_cast<size_t>(n)));
}

}  // namespace

bool IsSelfOrDescendant(pid_t pid, pid_t ancestor) {
  for (int depth = 0; depth < 64 && pid > 1; ++depth) {
    if (pid == ancestor) return true;
    pid = ParentOf(pid);
  }
  return false;
}

}  // namespace airlock::watch
