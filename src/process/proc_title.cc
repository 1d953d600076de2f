#include "process/proc_title.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace airlock {

ProcTitleArea FindProcTitleArea() {
  ProcTitleArea area;
  int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return area;
  char buf[2048];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return area;
  buf[n] = '\0';
  // Fields after the command name (which may hold spaces and parentheses): field 3 comes first;
  // arg_start, arg_end, env_start, env_end are fields 48 to 51 (proc(5)).
  char* p = std::strrchr(buf, ')');
  if (p == nullptr) return area;
  ++p;
  uintptr_t v[4] = {};
  for (int field = 3; field <= 51; ++field) {
    char* end = nullptr;
    unsigned long long x = std::strtoull(p, &end, 10);
    if (end == p && field > 3) return {};  // fewer fields than expected: leave everything as it is
    if (field >= 48) v[field - 48] = static_cast<uintptr_t>(x);
    if (field == 3) {  // the state is a letter
      while (*p == ' ') ++p;
      end = p + 1;
    }
    p = end;
  }
  if (v[1] <= v[0] || v[3] < v[2]) return area;
  area = {v[0], v[1], v[2], v[3]};
  return area;
}

void SetProcTitleInChild(const ProcTitleArea& area, const char* title) {
  if (area.arg_end <= area.arg_start) return;
  char* args = reinterpret_cast<char*>(area.arg_start);
  const size_t len = area.arg_end - area.arg_start;
  std::memset(args, 0, len);
  size_t t = strnlen(title, len - 1);
  std::memcpy(args, title, t);
  if (area.env_end > area.env_start) std::memset(reinterpret_cast<char*>(area.env_start), 0, area.env_end - area.env_start);
}

}  // namespace airlock
