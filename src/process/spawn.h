// Starting a helper program and capturing its output: the one fork/exec/capture of airlock's
// consumers (analyze running `airlock run` and airlock-scan, the milter running `airlock analyze`,
// postsuper and sendmail, scan running its sandboxed extractors).
//
// Contract:
//  - No shell: argv[0] is a path, run with execv. The environment is inherited.
//  - Every descriptor we create is O_CLOEXEC; the child gets exactly stdin/stdout/stderr (each a pipe
//    or /dev/null) plus what the caller left without O_CLOEXEC. No descriptor leaks on any failure
//    path (every pipe end is a UniqueFd until it is handed over).
//  - Between fork and exec the child only calls async-signal-safe functions (callers have threads):
//    argv pointers and /dev/null are prepared before fork. The child starts with an empty signal mask
//    and SIGPIPE at its default action, whatever the caller blocked or ignored.
//  - SpawnAndCapture writes stdin_data with SIGPIPE blocked in the calling thread only (a reader that
//    exits early is an EPIPE, never a signal, and no process-wide disposition changes).
//  - Output beyond a cap is read and discarded, so the child never blocks on a full pipe.
//  - At `deadline` the child is killed (SIGKILL) and reaped; the result says timed_out. Its own
//    children may keep the pipes open: reading stops at the kill, it does not wait for them.
//  - Interruption: when `interrupt_fd` becomes readable (the caller's signalfd for SIGINT/SIGTERM/
//    SIGHUP, an eventfd...) the child gets `interrupt_signal` once, and SIGKILL if it has not exited
//    `interrupt_grace` later; the descriptor is polled, never read (the caller reads it to learn the
//    signal), while a pipe to the child is open. The result says interrupted.
//  - kill_with_caller: the child gets SIGKILL when the thread that started it dies
//    (PR_SET_PDEATHSIG; SpawnAndCapture's caller waits for the child, so only the death of the whole
//    process triggers it): a helper, and an `airlock run` with its sandbox, never outlive a caller that
//    was killed with SIGKILL. For ForkExec, only when the forking thread lives as long as the child.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::process {

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
// pipe2(O_CLOEXEC).
Result<Pipe> MakePipe();

// The absolute path of the system program `name` (an executable in /usr/bin, /bin, /usr/sbin, /sbin or
// /usr/local/bin, in that order; never $PATH), or "" when there is none.
std::string FindSystemProgram(const std::string& name);

// The child's standard descriptors: a descriptor to dup2 onto 0/1/2, -1 for /dev/null, or kInherit
// to leave the caller's as they are.
inline constexpr int kInherit = -2;
struct ChildStdio {
  int in = -1;
  int out = -1;
  int err = -1;
};
// fork + execv(argv) with `stdio`; returns the child's pid. The caller closes its copies of the
// child's ends and reaps the child (WaitExitCode). Lower-level piece for callers that keep pipes open
// to a long-lived child (milter's worker pool).
// parent_death_signal: PR_SET_PDEATHSIG for the child (0: none; see kill_with_caller above).
Result<pid_t> ForkExec(const std::vector<std::string>& argv, const ChildStdio& stdio, int parent_death_signal = 0);

// waitpid (retrying EINTR); the exit status, 128+N for signal N, -1 when waitpid fails.
int WaitExitCode(pid_t pid);

struct SpawnOptions {
  std::optional<std::string> stdin_data;  // written to the child's stdin, then closed; none: /dev/null
  int stdin_fd = -1;                      // without stdin_data: the child's stdin (e.g. a file; the caller closes its copy)
  bool capture_stdout = true;             // false: the child's stdout is /dev/null
  bool capture_stderr = true;             // false: the child's stderr is /dev/null
  size_t stdout_cap = 64u << 20;          // bytes kept; the rest is read and discarded
  size_t stderr_cap = 64u << 20;
  std::optional<std::chrono::steady_clock::time_point> deadline;  // SIGKILL when reached
  std::function<void()> on_tick;          // called every tick_interval while the child runs
  std::chrono::milliseconds tick_interval{5000};
  int interrupt_fd = -1;                  // readable: interrupt the child (see the contract above)
  int interrupt_signal = SIGTERM;
  std::chrono::milliseconds interrupt_grace{10000};
  bool kill_with_caller = false;          // SIGKILL to the child when the caller dies (PR_SET_PDEATHSIG)
};

struct SpawnResult {
  int exit_code = -1;      // exit status, 128+N for a signal
  bool timed_out = false;  // killed at the deadline
  bool interrupted = false;  // interrupt_fd became readable while the child ran
  std::string out;
  std::string err;
};

// Runs argv to completion (or the deadline). An error only when it could not be started (pipe, fork);
// a program that cannot be executed exits 127 in the child.
Result<SpawnResult> SpawnAndCapture(const std::vector<std::string>& argv, const SpawnOptions& options = {});

}  // namespace airlock::process
