// Step 2 of a run (docs/ARCHITECTURE.md, "The order of `airlock run`"): the resource limits, and what
// the report says about them (docs/LIMITS.md).
//
// Per limit of the policy (memory, pids, cpus): the cgroup when this user can make one (root, or a
// delegated subtree); otherwise the rlimit fallback when the policy allows it (limits.cgroup
// "best-effort", or "disabled", which never tries a cgroup): RLIMIT_AS for memory, RLIMIT_NPROC for
// pids (counted per user namespace since Linux 5.14, so per sandbox); a CPU share has no fallback and
// is refused. The tmpfs bounds come from the mount plan (size= and nr_inodes= on every tmpfs).
// Parent side only, before clone.
#pragma once

#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "core/error.h"
#include "mount/mount_plan.h"
#include "policy/policy.h"
#include "sandbox/outcome.h"
#include "sandbox/prepare.h"

namespace airlock {

// Creates the cgroup (inactive when no limit needs one or none could be made; `hint` goes into its
// name; collecting stale cgroups is the caller's: RunSandbox does it once the child is released),
// decides the fallbacks, prepares run.rlimits and run.fallback_limits, records the limit layers and
// what was not enforced in run, and fills run.bounds. Fails when a limit cannot be enforced and the
// policy requires it (limits.cgroup = "required", or a CPU share without a cgroup). Also used once by
// `airlock pool` to decide the same for every warm sandbox (which then gets a cgroup of its own,
// enforcing the same limits).
Result<Cgroup> SetUpLimitsFromParent(const Limits& limits, PreparedRun& run, const std::string& hint = "run");

// What enforces each bound, given what the cgroup enforces and which limits fell back to rlimits.
RunBounds DescribeBounds(const Limits& limits, const Cgroup& cgroup, const std::vector<std::string>& fallback,
                         const MountPlan& mounts);

}  // namespace airlock
