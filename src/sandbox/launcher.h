// The cold launcher: clone() with the run's namespaces; the child becomes the sandbox's init
// (child.h) and waits for Release(). In between, the caller does the parent-side setup that needs the
// child's pid (uid maps, cgroup membership, network). The warm launcher (src/pool/pool_client.cc)
// hands back the same SupervisedChannels and its own SandboxProcess; both go to one Supervisor.
//
// Ownership: ClonedInit owns init's pidfd, our end of init's exec channel (`airlock exec`, child.h) and
// the write end of the sync pipe, which stays open for the ClonedInit's whole life (init takes its
// hang-up as "airlock is gone", child.cc).
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
  ClonedInit(pid_t pid, UniqueFd pidfd, UniqueFd sync_w, UniqueFd exec_w = {})
      : pid_(pid), pidfd_(std::move(pidfd)), sync_w_(std::move(sync_w)), exec_w_(std::move(exec_w)) {}
  pid_t pid() const { return pid_; }
  // Lets init go on (uid maps, cgroup and network are in place). False if init is already gone.
  bool Release();
  // Setup failed before Release: kill init and reap it.
  void KillAndReap();

  int fd() const override { return pidfd_.get(); }
  Event OnReadable() override;
  void Signal(int signo) override;
  void Kill() override { Signal(SIGKILL); }
  pid_t HostPid() const override { return pid_; }
  const char* LaunchKind() const override { return "cold"; }
  Status SendExec(std::string_view msg, const int* fds, size_t nfds) override;

  std::optional<int> status() const { return status_; }  // raw wait status once it exited
  const struct rusage& usage() const { return usage_; }
  SupervisorClock::time_point exited_at() const { return exited_at_; }

 private:
  pid_t pid_;
  UniqueFd pidfd_;
  UniqueFd sync_w_;
  UniqueFd exec_w_;  // exec requests to init (child.h ChildChannels::exec_read)
  std::optional<int> status_;
  struct rusage usage_ {};
  SupervisorClock::time_point exited_at_;
};

// How init joins the run's cgroup without a migration by the parent (cgroup/cgroup.h OpenForJoin):
// descriptors borrowed from the caller, valid until LaunchCold returns.
struct CgroupJoin {
  const int* v1_tasks = nullptr;  // init writes "0" into each, first thing after clone
  size_t v1_count = 0;
  int v2_dir = -1;                // clone3(CLONE_INTO_CGROUP) into this directory
};

struct ColdLaunched {
  ClonedInit init;
  SupervisedChannels channels;
  // init is in every directory of the cgroup (or will be before it does anything else: the v1 join is
  // its first step). False when the kernel refused CLONE_INTO_CGROUP: the caller attaches init.
  bool joined_cgroup = false;
};

// The fork-like clone of a sandbox's init, cold (LaunchCold) or warm (the pool's spawner): clone3 into
// the v2 cgroup directory `v2_dir` (CLONE_INTO_CGROUP) when >= 0, else, or when that fails, a plain
// clone; *into_cgroup says which (false: the caller attaches init). A root caller clones with
// `owner_ids`' outside ids as its effective ids, so they own the new user namespace (userns.h), and
// takes its own back right after. Returns the pid as kernel::CloneForkLike (< 0: errno says why), or an
// error when the ids could not be switched or restored (a child already cloned is then killed).
Result<pid_t> CloneInit(const IdMapping& owner_ids, unsigned long flags, int* pidfd, int v2_dir, bool* into_cgroup);

// Clones init for `run` (run.clone_flags) and starts RunSandboxInitInChild in it. Call with the
// forwarded signals blocked (Supervisor's constructor); `child_mask` is the mask the child restores.
// `spec` is what the payload executes; `join` (optional) puts init in the run's cgroup.
Result<ColdLaunched> LaunchCold(const PreparedRun& run, const PayloadSpec& spec, const sigset_t& child_mask,
                                const CgroupJoin& join = {});

}  // namespace airlock
