// How a sandbox run ended, in the terms of RunOutcome: shared by cold runs (sandbox.cc) and runs in a
// warm sandbox of the pool (src/pool/pool_client.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "process/child_error.h"
#include "sandbox/outcome.h"
#include "seccomp/notify.h"

namespace airlock {

struct EndState {
  std::optional<ChildErrorRecord> child_error;  // a setup step failed (or exec)
  bool timed_out = false;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<int> payload_status;  // raw wait status reported by init
  std::optional<int> init_status;     // raw wait status of init itself, when we could wait for it
  bool limit_hit = false;             // cgroup says: OOM kill or pids limit reached
  // A cgroup memory limit was in force and the kernel does not count OOM kills (before 4.13): a
  // SIGKILL is then taken for the limit's. With the counter, only a counted OOM kill is (limit_hit).
  bool memory_limited = false;
  bool has_seccomp = false;
  int interrupt_signal = 0;           // SIGINT/SIGTERM/SIGHUP airlock received (0: none)
  bool killed_on_interrupt = false;   // ... and killed the sandbox for it (RunOptions::kill_on_interrupt)
};

// Sets reason, exit_code, error, child_exit_status, child_signal and interrupt_signal. A sandbox
// killed for an interrupt ends as "signaled" with exit code 128+N of the interrupt (130 for SIGINT),
// unless the payload had already exited on its own.
void ClassifyOutcome(const EndState& end, RunOutcome* outcome);

// The one line for a setup failure reported by the sandbox; *exit_code gets airlock's code for it.
std::string DescribeChildError(const ChildErrorRecord& rec, bool has_seccomp, int* exit_code);

// The denial counter's notification hook: counts fileless execution (memfd_create, execveat of an
// fd) in `observed`, the report's observed_syscalls.
void CountFilelessExecution(const NotifyEvent& ev, std::map<std::string, uint64_t>& observed);

// Stops the seccomp supervisor thread, if one runs (the listener reports POLLHUP once every sandboxed
// process is gone; stop_fd, an eventfd, is the backstop), and records what it counted.
void FinishNotifySupervisor(std::thread& supervisor, int stop_fd, const std::map<std::string, uint64_t>& observed,
                            const Result<NotifyStats>& stats, RunOutcome* outcome);

}  // namespace airlock
