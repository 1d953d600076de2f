// Everything the sandbox child needs, computed in the parent before clone(): after clone the child
// only reads this structure and makes syscalls.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "landlock/landlock.h"
#include "mount/mount_plan.h"
#include "policy/policy.h"
#include "process/proc_title.h"
#include "rlimit/rlimit.h"
#include "sandbox/exec_wire.h"
#include "sandbox/outcome.h"
#include "seccomp/seccomp.h"
#include "tty/pty_relay.h"
#include "ucount/ucount.h"
#include "userns/userns.h"

namespace airlock {

struct RunOptions {
  std::vector<std::string> notify_syscalls;  // extra syscalls for a behaviour monitor
  std::vector<NotifyArgFilter> notify_filters;  // narrowing of notify_syscalls (seccomp.h)
  bool monitor_reads = false;                // monitor: route every call, incl. read-only opens
  int monitor_fd = -1;                       // write monitor events (JSON lines) here; -1 = no monitor
  size_t monitor_queue = 65536;              // events buffered before dropping (counted)
  bool kill_on_interrupt = false;            // SIGINT/SIGTERM/SIGHUP kill the sandbox (signals.h) instead of
                                             // being forwarded (`airlock run --on-interrupt kill`)
  int control_fd = -1;                       // the run's control socket (control.h), served by the supervisor
  // Or, for a run whose entry in the registry of running sandboxes need not exist before it starts (no
  // --name to claim): makes that entry and returns its control socket (-1: unlisted). Called once the
  // sandbox is on its way (a cold one released, a warm one's request sent), so writing the entry
  // overlaps the sandbox's start instead of delaying it.
  std::function<int()> late_control;
  std::string net_pcap;                      // --net sinkhole: its traffic as PCAP to this new file (net/pcap_writer.h)
};

struct PreparedRun {
  Policy policy;
  IdMapping ids;
  MountPlan mounts;
  std::optional<SeccompProgram> seccomp;
  LandlockPlan landlock;
  std::vector<PreparedRlimit> rlimits;
  std::vector<std::string> fallback_limits;  // limits enforced by rlimit instead of cgroup
  UcountPlan ucounts;  // the sandbox's share of its owner's per-user counters (its sysctls are in mounts)
  ProcTitleArea title;  // airlock's argv/environment in memory: init overwrites them (proc_title.h)
  std::optional<RunBounds> bounds;           // filled by SetUpLimitsFromParent (limits.h)

  std::string hostname;
  std::string chdir;
  std::vector<std::string> argv_storage;
  std::vector<char*> argv;
  std::vector<std::string> env_storage;
  std::vector<char*> envp;
  std::vector<std::string> exec_candidates;  // absolute paths to try in order
  std::vector<int> pass_fds;
  StdioTerminal terminal;  // the private terminal's slave over stdio (set by the caller from a PtyRelay)
  unsigned long clone_flags = 0;
  bool unshare_cgroup = false;
  bool unshare_time = false;
  bool net_loopback = false;
  bool trace_steps = false;  // AIRLOCK_TRACE_SETUP=1: the child prints per-step timings to stderr

  std::vector<LayerStatus> layers;
  std::vector<std::string> not_enforced;
  std::vector<std::string> weakenings;
};

// Builds the environment: the allow-listed variables from `environ` (a host PATH keeps only the
// entries that are directories inside the sandbox: mount_plan.h DirectoryExistsInside), then
// policy.env_set (taken as given), then HOME, USER, LOGNAME, and a default PATH when none survived.
std::vector<std::string> BuildEnvironment(const Policy& policy, const IdMapping& ids);
// The same rules over `host` ("NAME=value" strings) instead of our own environment.
std::vector<std::string> BuildEnvironment(const Policy& policy, const IdMapping& ids, const std::vector<std::string>& host);

// `airlock exec` (exec_wire.h): the caller's request as init takes it (kExecInitMagic): its
// environment through the run's rules (BuildEnvironment), its exec candidates, its cwd (absolute, or
// "" for the run's). The error says why not (too large). Used by the supervisor of a cold or warm run.
Result<std::string> PrepareExecForInit(const Policy& policy, const IdMapping& ids, ExecMessage request);

// Where execve looks for cmd0 inside the sandbox: cmd0 itself if it has a '/', else each PATH entry.
std::vector<std::string> ExecCandidates(const std::string& cmd0, const std::vector<std::string>& env);

// The caller's terminal (src/tty/pty_relay.h): a pseudo-terminal of the sandbox's own when fd 0, 1 or 2
// is a terminal, unless the policy hands over the real one (host_terminal: recorded in *weakenings).
// nullptr when there is nothing to relay. An engaged "private-terminal" layer goes to *layers.
// Shared by cold and warm runs.
Result<std::unique_ptr<PtyRelay>> PrepareTerminal(const Policy& policy, std::vector<LayerStatus>* layers,
                                                  std::vector<std::string>* weakenings);

// Everything except cgroups and the user-mode network (which need the child's pid).
Result<PreparedRun> PrepareRun(const Policy& policy, const std::vector<std::string>& cmd, const RunOptions& options);

}  // namespace airlock
