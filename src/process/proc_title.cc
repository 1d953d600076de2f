#include "process/proc_title.h"

#include <errno.h>
#include <sys/auxv.h>

#include <cstring>

namespace airlock {

ProcTitleArea FindProcTitleArea() {
  // execve copies, from the top of the new stack down: the executable's name (AT_EXECFN), the
  // environment strings, the argument strings; argv[0] (glibc's program_invocation_name) opens them.
  const auto start = reinterpret_cast<uintptr_t>(program_invocation_name);
  const auto end = static_cast<uintptr_t>(getauxval(AT_EXECFN));
  constexpr uintptr_t kMaxArea = 64u << 20;  // far above what execve accepts (a quarter of the stack limit)
  if (start == 0 || end <= start || end - start > kMaxArea) return {};
  return {start, end};
}

void SetProcTitleInChild(const ProcTitleArea& area, const char* title) {
  if (area.end <= area.start) return;
  char* p = reinterpret_cast<char*>(area.start);
  const size_t len = area.end - area.start;
  std::memset(p, 0, len);
  std::memcpy(p, title, strnlen(title, len - 1));
}

}  // namespace airlock
