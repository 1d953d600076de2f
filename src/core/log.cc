#include "core/log.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace airlock {
namespace {
LogLevel g_level = LogLevel::kWarning;
}

void SetLogLevel(LogLevel level) { g_level = level; }
LogLevel GetLogLevel() { return g_level; }

void LogLine(LogLevel level, std::string_view line) {
  if (level < g_level) return;
  const char* prefix = "airlock: ";
  switch (level) {
    case LogLevel::kDebug: prefix = "airlock: debug: "; break;
    case LogLevel::kInfo: prefix = "airlock: "; break;
    case LogLevel::kWarning: prefix = "airlock: warning: "; break;
    case LogLevel::kError: prefix = "airlock: error: "; break;
  }
  std::string out = std::string(prefix) + std::string(line) + "\n";
  RawWrite(STDERR_FILENO, out.c_str());
}

void RawWrite(int fd, const char* s) {
  size_t len = std::strlen(s);
  while (len > 0) {
    ssize_t n = ::write(fd, s, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    s += n;
    len -= static_cast<size_t>(n);
  }
}

}  // namespace airlock
