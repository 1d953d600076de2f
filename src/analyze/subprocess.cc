#include "analyze/subprocess.h"

#include "process/spawn.h"

namespace airlock::analyze {

ProcResult RunCapture(const std::vector<std::string>& argv, size_t cap, int interrupt_fd) {
  process::SpawnOptions options;
  options.stdout_cap = cap;
  options.stderr_cap = cap;
  options.kill_with_caller = true;
  options.interrupt_fd = interrupt_fd;
  auto r = process::SpawnAndCapture(argv, options);
  if (!r) return ProcResult{-1, "", r.error().What()};
  return ProcResult{r->exit_code, std::move(r->out), std::move(r->err)};
}

}  // namespace airlock::analyze
