// The orchestrator of `airlock run`: prepare in the parent, clone, release the child, supervise.
// Reads like a checklist; each step is one module (userns, mount, seccomp, landlock, cgroup, net...).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "core/error.h"
#include "policy/policy.h"
#include "sandbox/classify.h"
#include "sandbox/outcome.h"
#include "sandbox/prepare.h"

namespace airlock {

// Called for every seccomp notification of a syscall in RunOptions::notify_syscalls (behaviour
// monitor). Not used when empty.
using NotifyObserver = std::function<void(int listener_fd)>;

// The options a run really uses: denial counting and the monitor add their notified syscalls.
Result<RunOptions> EffectiveRunOptions(const Policy& policy, const RunOptions& options);

// The cgroup's part of how a run ended, the same for cold and warm runs: memory peak (covers every
// process of the sandbox), whether a limit was hit (OOM kill, pids limit) and whether a memory limit
// was in force (a SIGKILL then counts as the limit's); then Remove() (warm: the pool removes it).
void RecordCgroupEnd(Cgroup& cgroup, RunOutcome* outcome, EndState* end);

// Runs cmd under policy and waits for it. Setup problems found before clone() are returned as an
// Error; everything after clone() ends in a RunOutcome (reason kSetupError with the child's message).
Result<RunOutcome> RunSandbox(const Policy& policy, const std::vector<std::string>& cmd, const RunOptions& options = {});

}  // namespace airlock
