// The string tables of airlock's request messages (the pool's run request, pool/pool_wire.h; the exec
// request, sandbox/exec_wire.h): argv, then the environment, then the exec candidates, each string
// NUL-terminated, back to back.
//
// Contract:
//  - AppendNulStrings cuts a string at an embedded NUL (it would shift every later string).
//  - SplitNulTables is for the child side: no allocation, async-signal-safe. It lays the strings of
//    [p, end) out in `ptrs` as argv[argc] NULL, envp[envc] NULL, exec[execc] (the caller checked that
//    `ptrs` holds argc + envc + execc + 2) and returns the position after the last string it read, or
//    nullptr when one is not terminated before `end`. What follows (exec's working directory) is the
//    caller's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace airlock {

struct NulTables {
  char** argv = nullptr;
  char** envp = nullptr;
  char** exec = nullptr;
};

inline void AppendNulStrings(std::string& out, const std::vector<std::string>& list) {
  for (const auto& s : list) {
    out.append(s.c_str());
    out.push_back('\0');
  }
}

inline char* SplitNulTables(char* p, char* end, uint32_t argc, uint32_t envc, uint32_t execc, char** ptrs, NulTables* t) {
  t->argv = ptrs;
  t->envp = ptrs + argc + 1;
  t->exec = t->envp + envc + 1;
  const size_t total = static_cast<size_t>(argc) + envc + execc;
  for (size_t i = 0; i < total; ++i) {
    char* nul = static_cast<char*>(std::memchr(p, '\0', static_cast<size_t>(end - p)));
    if (nul == nullptr) return nullptr;
    if (i < argc) t->argv[i] = p;
    else if (i < static_cast<size_t>(argc) + envc) t->envp[i - argc] = p;
    else t->exec[i - argc - envc] = p;
    p = nul + 1;
  }
  t->argv[argc] = nullptr;
  t->envp[envc] = nullptr;
  return p;
}

}  // namespace airlock
