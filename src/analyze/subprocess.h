// Running helper programs (airlock run, airlock-scan) and capturing their output: analyze's view of
// process/spawn.h. Sibling programs are found with core/helper_path.h (FindHelper).
#pragma once

#include <string>
#include <vector>

namespace airlock::analyze {

struct ProcResult {
  int exit_code = -1;  // exit status, 128+N for signals, -1 when it could not start
  std::string out;
  std::string err;     // when it could not start: why
};

// Runs argv without a shell, capturing stdout and stderr (each capped at cap bytes; the rest is read
// and discarded so the child never blocks). stdin is /dev/null. The child never outlives us (SIGKILL
// when we die: process/spawn.h kill_with_caller); when `interrupt_fd` (process/interrupt.h) becomes
// readable it gets SIGTERM (`airlock run --on-interrupt kill` then kills its sandbox and writes its
// report), and SIGKILL 10 s later.
ProcResult RunCapture(const std::vector<std::string>& argv, size_t cap = 64 << 20, int interrupt_fd = -1);

}  // namespace airlock::analyze
