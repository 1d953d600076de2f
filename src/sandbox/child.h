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
// A warm sandbox (src/pool/pool.h) forks its payload at this point instead, lets it lock itself down
// completely (every step below up to seccomp), then reports ready to the pool and waits for a client;
// the payload only takes the client's stdio and execs what the client sent.
// Order in the payload (security-relevant: each step needs what the previous ones still allow):
//   setsid -> fresh session keyring -> rlimits -> fds (close all but stdio, pass-fds) -> chdir ->
//   drop bounding set + lock securebits (needs CAP_SETPCAP) -> setgroups/setresgid/setresuid ->
//   clear all capability sets -> no_new_privs -> Landlock -> seccomp (last) -> execve.
// Nothing here allocates: all inputs were prepared in PreparedRun before clone().
#pragma once

#include <cstddef>
#include <cstdint>

#include "sandbox/prepare.h"

namespace airlock {

// What a cold payload runs, taken from PreparedRun (the parent built it before clone). A warm
// sandbox's payload decodes its own from the client's request (src/pool/pool_wire.h).
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
  int pool_ctl = -1;     // warm sandbox: init's socket to the pool; -1 for a cold run
  int pool_payload = -1; // warm sandbox: the payload's socket to the pool (the client's connection arrives here)
};

// spec is used by cold runs; a warm sandbox (channels.pool_ctl >= 0) builds its own from the request.
[[noreturn]] void RunSandboxInitInChild(const PreparedRun& run, const PayloadSpec& spec, const ChildChannels& channels);

}  // namespace airlock
