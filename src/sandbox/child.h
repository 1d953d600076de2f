// The sandbox side of clone(): pid 1 of the new pid namespace ("init") and the payload it forks.
//
// Order in init (has all capabilities in the new user namespace, none on the host):
//   join the run's v1 cgroups (write "0" into their `tasks`: no global cgroup lock) ->
//   overwrite airlock's argv and environment (/proc/1/cmdline: "airlock-init") ->
//   die-with-parent -> wait for the parent's "go" (uid maps, cgroup and network are ready) ->
//   open bind sources -> (root caller) switch to the inside ids -> re-arm die-with-parent (the kernel
//   clears it on that switch) and check that the parent still lives (sync pipe not hung up) ->
//   cgroup namespace -> hostname -> loopback -> mount plan (its fresh /proc first takes the
//   per-user-counter sysctls, ucount.h; host facts masked last) + pivot_root -> not dumpable ->
//   block signals -> start the payload (clone CLONE_VM|CLONE_VFORK on its own stack, like
//   posix_spawn: init waits until the payload's execve) -> reap zombies, forward signals, report the
//   payload's status.
// A warm sandbox (src/pool/warm_payload.h) passes a WarmStart instead: init calls it at this point;
// it forks its payload, which locks itself down completely (LockDownPayloadInChild, every step below
// up to seccomp), then reports ready to the pool and waits for a client.
// Order in the payload (security-relevant: each step needs what the previous ones still allow):
//   setsid -> private terminal over stdio, made the controlling terminal (tty/pty_relay.h; cold runs,
//   a warm payload takes it after its request) -> fresh session keyring -> rlimits (and the per-user-counter
//   shares) -> fds (close all but stdio, pass-fds) -> chdir ->
//   drop bounding set + lock securebits (needs CAP_SETPCAP) -> setgroups/setresgid/setresuid ->
//   clear all capability sets -> no_new_privs -> Landlock -> seccomp (last) -> execve.
// `airlock exec` (exec_wire.h): init serves exec requests on its exec channel for its whole life (cold:
// ChildChannels::exec_read; warm: the client's connection). For each it forks a child that runs the very
// same LockDownPayloadInChild over the same PreparedRun (namespaces, cgroup, rlimits, ids, capabilities,
// no_new_privs, Landlock (the ruleset init built from the plan before the payload started), seccomp), with the caller's stdio instead of the run's terminal,
// sends its seccomp listener to the supervisor, then chdir (after Landlock) and execve. init reports its
// end to the caller like the payload's (StatusRecord), and ends it with the sandbox.
// Nothing here allocates: all inputs were prepared in PreparedRun before clone().
#pragma once

#include <signal.h>

#include <cstddef>
#include <cstdint>

#include <sys/resource.h>
#include <sys/types.h>

#include "sandbox/prepare.h"

namespace airlock {

// What a cold payload runs, taken from PreparedRun (the parent built it before clone). A warm
// sandbox's payload decodes its own from the client's request.
struct PayloadSpec {
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* const* exec = nullptr;  // absolute paths to try in order
  size_t execc = 0;
};

// The status init reports when the payload has ended: its raw wait status and the CPU and memory of
// every process init reaped (the client of a warm sandbox cannot wait4 it).
struct StatusRecord {
  int32_t raw_status = 0;
  int32_t reserved = 0;
  int64_t user_us = 0;
  int64_t system_us = 0;
  int64_t maxrss_kb = 0;
};

struct ChildChannels {
  int sync_read = -1;    // parent writes one byte when the child may proceed; EOF or hang-up = parent died
                         // (the parent keeps its end open for its whole life)
  int error_write = -1;  // ChildErrorRecord on setup failure (O_CLOEXEC: closed by a successful execve)
  int status_write = -1; // init writes the payload's StatusRecord here before exiting
  int notify_write = -1; // payload sends the seccomp listener fd here (SCM_RIGHTS)
  int exec_read = -1;    // cold runs: exec requests from the supervisor (exec_wire.h); -1: none
  const int* cgroup_tasks = nullptr;  // cold runs: v1 `tasks` files init joins first (then closes)
  size_t cgroup_tasks_count = 0;
};

// What init runs instead of a cold payload, chosen by the caller before clone (a warm sandbox:
// src/pool/warm_payload.h). `start` is called in init once the sandbox is set up and the signals in
// `waited` (SIGCHLD and the forwarded ones, signals.h) are blocked; `old_mask` is the mask the payload
// restores; `arg` is the caller's. It must not return and must not allocate.
struct WarmStart {
  void (*start)(const PreparedRun& run, ChildChannels& ch, const sigset_t& old_mask, const sigset_t& waited,
                             void* arg) = nullptr;
  void* arg = nullptr;
};

// spec is used by cold runs (warm.start == nullptr); a warm sandbox builds its own from the request.
[[noreturn]] void RunSandboxInitInChild(const PreparedRun& run, const PayloadSpec& spec, const ChildChannels& channels,
                                        WarmStart warm = {});

// Building blocks for a payload, shared by the cold payload and a warm sandbox's. All allocation-free.
// The lock-down: session, the private terminal (run.terminal), keyring, rlimits, descriptors (all but stdio, run.pass_fds and keep[0,nkeep)
// closed), cwd, capabilities, ids, no_new_privs, Landlock, the signal mask old_mask, seccomp (last).
// Returns the seccomp listener (user notification) or -1; fails through ChildFail(err, ...).
int LockDownPayloadInChild(const PreparedRun& run, int err, int* keep, size_t nkeep, const sigset_t& old_mask);
// The same with `terminal` in place of run.terminal (an exec'd process keeps the stdio it was given) and,
// when landlock_ruleset >= 0, that ruleset (built by init from run.landlock before the payload started;
// kept open through the fd step, closed after use) instead of one built now.
int LockDownPayloadInChild(const PreparedRun& run, const StdioTerminal& terminal, int landlock_ruleset, int err, int* keep,
                           size_t nkeep, const sigset_t& old_mask);

// The processes init started for `airlock exec`, and their callers' status sockets.
struct ExecChildren {
  static constexpr size_t kMax = 64;
  pid_t pid[kMax] = {};
  int status_fd[kMax] = {};
  size_t count = 0;
};
// Receives one message from init's exec channel `sock` into init's own buffer (*msg; at most
// kMaxExecMessage bytes) and its descriptors (moved above fd 10) into fds[0, *nfds) (room for
// kMaxPassedFds). Returns its length, 0 at EOF, < 0 when nothing was read (EAGAIN) or on error;
// a truncated message returns -EMSGSIZE (its descriptors are closed).
ssize_t ReceiveExecChannelInInit(int sock, char** msg, int* fds, size_t* nfds);
// One exec request (kExecInitMagic) from the channel: forks the exec'd process (see the top) and
// records it in *children. Anything malformed is refused (to the request's error pipe when it has
// one); the request's descriptors are closed here in every case.
void StartExecInInit(const PreparedRun& run, char* msg, size_t len, int* fds, size_t nfds, const sigset_t& old_mask,
                     ExecChildren* children);
// init reaped `pid`: if it was an exec'd process, its StatusRecord goes to its caller. True if it was.
bool ReportExecEndInInit(ExecChildren* children, pid_t pid, int status, const struct rusage& usage);
// Tries exec[0..execc) in order; reports the failure to err.
[[noreturn]] void ExecPayloadInChild(int err, char* const* argv, char* const* envp, const char* const* exec, size_t execc);
// AIRLOCK_TRACE_SETUP=1 (run.trace_steps): "airlock: child +<us> <step>" on stderr.
void TraceStepInChild(const PreparedRun& run, const char* step);
// The StatusRecord for `status` plus what every reaped process used, written to fd.
void WriteStatusRecordInChild(int fd, int status);
// Exits with the payload's exit code (128 + signal when it was killed).
[[noreturn]] void ExitLikePayloadInChild(int status);

}  // namespace airlock
