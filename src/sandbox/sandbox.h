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

// Limits: a cgroup where possible (created here; `hint` goes into its name; collecting stale cgroups
// is the caller's: RunSandbox does it once the child is released), an rlimit fallback where the
// policy allows it, else an error saying how to get a cgroup.
// Records layers, fallbacks and what is not enforced in run and fills run.rlimits. The cgroup is
// inactive when no limit needs one. Also used once by `airlock pool` to decide the same for every
// warm sandbox (which then gets a cgroup of its own, enforcing the same limits).
Result<Cgroup> SetUpLimits(const Limits& lim, PreparedRun& run, const std::string& hint = "run");

// The cgroup's part of how a run ended, the same for cold and warm runs: memory peak (covers every
// process of the sandbox), whether a limit was hit (OOM kill, pids limit) and whether a memory limit
// was in force (a SIGKILL then counts as the limit's); then Remove() (warm: the pool removes it).
void RecordCgroupEnd(Cgroup& cgroup, RunOutcome* outcome, EndState* end);

// Runs cmd under policy and waits for it. Setup problems found before clone() are returned as an
// Error; everything after clone() ends in a RunOutcome (reason kSetupError with the child's message).
Result<RunOutcome> RunSandbox(const Policy& policy, const std::vector<std::string>& cmd, const RunOptions& options = {});

}  // namespace airlock
