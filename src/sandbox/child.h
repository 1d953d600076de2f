// The sandbox side of clone(): pid 1 of the new pid namespace ("init") and the payload it forks.
//
// Order in init (has all capabilities in the new user namespace, none on the host):
//   die-with-parent -> wait for the parent's "go" (uid maps, cgroup and network are ready) ->
//   open bind sources -> (root caller) switch to the inside ids -> re-arm die-with-parent (the kernel
//   clears it on that switch) and check that the parent still lives (sync pipe not hung up) ->
//   cgroup namespace -> hostname -> loopback -> mount plan + pivot_root -> not dumpable ->
//   block signals -> start the payload (clone CLONE_VM|CLONE_VFORK on its own stack, like
//   posix_spawn: init waits until the payload's execve) -> reap zombies, forward signals, report the
//   payload's status.
// Order in the payload (security-relevant: each step needs what the previous ones still allow):
//   setsid -> fresh session keyring -> rlimits -> fds (close all but stdio, pass-fds) -> chdir ->
//   drop bounding set + lock securebits (needs CAP_SETPCAP) -> setgroups/setresgid/setresuid ->
//   clear all capability sets -> no_new_privs -> Landlock -> seccomp (last) -> execve.
// Nothing here allocates: all inputs were prepared in PreparedRun before clone().
#pragma once

#include "sandbox/prepare.h"

namespace airlock {

struct ChildChannels {
  int sync_read = -1;    // parent writes one byte when the child may proceed; EOF or hang-up = parent died
                         // (the parent keeps its end open for its whole life)
  int error_write = -1;  // ChildErrorRecord on setup failure (O_CLOEXEC: closed by a successful execve)
  int status_write = -1; // init writes the payload's raw wait status here before exiting
  int notify_write = -1; // payload sends the seccomp listener fd here (SCM_RIGHTS)
};

[[noreturn]] void RunSandboxInitInChild(const PreparedRun& run, const ChildChannels& channels);

}  // namespace airlock
