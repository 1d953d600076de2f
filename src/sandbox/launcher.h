// The cold launcher: clone() with the run's namespaces; the child becomes the sandbox's init
// (child.h) and waits for Release(). In between, the caller does the parent-side setup that needs the
// child's pid (uid maps, cgroup membership, network). The warm launcher (src/pool/pool_client.cc)
// hands back the same SupervisedChannels and its own SandboxProcess; both go to one Supervisor.
//
// Ownership: ClonedInit owns init's pidfd and the write end of the sync pipe, which stays open for
// the ClonedInit's whole life (init takes its hang-up as "airlock is gone", child.cc).
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <optional>

#include "core/error.h"
#include "core/unique_fd.h"
#include "sandbox/child.h"
#include "sandbox/prepare.h"
#include "sandbox/supervisor.h"

namespace airlock {

// init as our child: its pidfd is readable when it exited; wait4 then gives its status and the CPU
// and memory of the whole sandbox.
class ClonedInit final : public SandboxProcess {
 public:
  ClonedInit(pid_t pid, UniqueFd pidfd, UniqueFd sync_w) : pid_(pid), pidfd_(std::move(pidfd)), sync_w_(std::move(sync_w)) {}
  pid_t pid() const { return pid_; }
  // Lets init go on (uid maps, cgroup and network are in place). False if init is already gone.
  bool Release();
  // Setup failed before Release: kill init and reap it.
  void KillAndReap();

  int fd() const override { return pidfd_.get(); }
  Event OnReadable() override;
  void Signal(int signo) override;
  void Kill() override { Signal(SIGKILL); }

  std::optional<int> status() const { return status_; }  // raw wait status once it exited
  const struct rusage& usage() const { return usage_; }
  SupervisorClock::time_point exited_at() const { return exited_at_; }

 private:
  pid_t pid_;
  UniqueFd pidfd_;
  UniqueFd sync_w_;
  std::optional<int> status_;
  struct rusage usage_ {};
  SupervisorClock::time_point exited_at_;
};

struct ColdLaunched {
  ClonedInit init;
  SupervisedChannels channels;
};

// Clones init for `run` (run.clone_flags) and starts RunSandboxInitInChild in it. Call with the
// forwarded signals blocked (Supervisor's constructor); `child_mask` is the mask the child restores.
// `spec` is what the payload executes; `join` how init joins the run's cgroup (Cgroup::PrepareJoin).
Result<ColdLaunched> LaunchCold(const PreparedRun& run, const PayloadSpec& spec, const sigset_t& child_mask,
                                CgroupJoin join = {});

// The fork-like clone of a sandbox's init (cold and warm): with a v2 directory in `join`, clone3
// CLONE_INTO_CGROUP puts init there at birth; if that fails (a kernel without it, a directory that
// refuses), a plain clone, and init writes itself into that directory (JoinCgroupInChild). Sets join->placed_by_clone accordingly before the
// clone that succeeds, so the child's copy of *join tells it. Returns as kernel::CloneForkLike.
pid_t CloneSandboxInit(unsigned long flags, CgroupJoin* join, int* pidfd);

}  // namespace airlock
