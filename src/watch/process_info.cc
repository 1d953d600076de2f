#include "watch/process_info.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
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

std::string ExeOf(pid_t pid) {
  std::array<char, 4096> buf{};
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size() - 1);
  if (n <= 0) return "";
  return std::string(buf.data(), static_cast<size_t>(n));
}

}  // namespace airlock::watch
