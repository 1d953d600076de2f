// Everything the sandbox child needs, computed in the parent before clone(): after clone the child
// only reads this structure and makes syscalls.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "landlock/landlock.h"
#include "mount/mount_plan.h"
#include "policy/policy.h"
#include "rlimit/rlimit.h"
#include "sandbox/outcome.h"
#include "seccomp/seccomp.h"
#include "userns/userns.h"

namespace airlock {

struct RunOptions {
  std::vector<std::string> notify_syscalls;  // extra syscalls for a behaviour monitor
  std::vector<NotifyArgFilter> notify_filters;  // narrowing of notify_syscalls (seccomp.h)
  bool monitor_reads = false;                // monitor: route every call, incl. read-only opens
  int monitor_fd = -1;                       // write monitor events (JSON lines) here; -1 = no monitor
  size_t monitor_queue = 65536;              // events buffered before dropping (counted)
};

struct PreparedRun {
  Policy policy;
  IdMapping ids;
  MountPlan mounts;
  std::optional<SeccompProgram> seccomp;
  LandlockPlan landlock;
  std::vector<PreparedRlimit> rlimits;
  std::vector<std::string> fallback_limits;  // limits enforced by rlimit instead of cgroup
  std::optional<RunBounds> bounds;           // filled by SetUpLimitsFromParent (limits.h)

  std::string hostname;
  std::string chdir;
  std::vector<std::string> argv_storage;
  std::vector<char*> argv;
  std::vector<std::string> env_storage;
  std::vector<char*> envp;
  std::vector<std::string> exec_candidates;  // absolute paths to try in order
  std::vector<int> pass_fds;
  unsigned long clone_flags = 0;
  bool unshare_cgroup = false;
  bool unshare_time = false;
  bool net_loopback = false;
  bool trace_steps = false;  // AIRLOCK_TRACE_SETUP=1: the child prints per-step timings to stderr

  std::vector<LayerStatus> layers;
  std::vector<std::string> not_enforced;
  std::vector<std::string> weakenings;
};

// Builds the environment: the allow-listed variables from `environ`, then policy.env_set, then HOME,
// USER, LOGNAME, and a default PATH when none survived.
std::vector<std::string> BuildEnvironment(const Policy& policy, const IdMapping& ids);

// Where execve looks for cmd0 inside the sandbox: cmd0 itself if it has a '/', else each PATH entry.
std::vector<std::string> ExecCandidates(const std::string& cmd0, const std::vector<std::string>& env);

// Everything except cgroups and the user-mode network (which need the child's pid).
Result<PreparedRun> PrepareRun(const Policy& policy, const std::vector<std::string>& cmd, const RunOptions& options);

}  // namespace airlock
