#include "process/proc_stat.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <string>

namespace airlock {

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

pid_t ParentPid(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  std::array<char, 1024> buf{};
  ssize_t n = ::read(fd, buf.data(), buf.size() - 1);
  ::close(fd);
  if (n <= 0) return -1;
  return ParsePpid(std::string_view(buf.data(), static_cast<size_t>(n)));
}

bool IsSelfOrDescendant(pid_t pid, pid_t ancestor) {
  for (int depth = 0; depth < 64 && pid > 1; ++depth) {
    if (pid == ancestor) return true;
    pid = ParentPid(pid);
  }
  return false;
}

}  // namespace airlock
