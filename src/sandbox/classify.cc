#include "sandbox/classify.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "core/log.h"

namespace airlock {

std::string DescribeChildError(const ChildErrorRecord& rec, bool has_seccomp, int* exit_code) {
  *exit_code = kExitSetup;
  std::string stage = rec.stage;
  std::string detail = rec.detail;
  std::string why = rec.err ? std::strerror(rec.err) : "";
  if (stage == "exec") {
    if (rec.err == ENOENT) {
      *exit_code = kExitNotFound;
      return fmt::format("command not found inside the sandbox: {}", detail);
    }
    *exit_code = kExitNotExecutable;
    return fmt::format("cannot execute {}: {}", detail, why);
  }
  std::string msg = fmt::format("sandbox setup failed at '{}'{}: {}", stage, detail.empty() ? "" : " (" + detail + ")", why);
  if (stage == "open bind source" && rec.err == ELOOP) {
    msg += " (a symlink appeared on the bind source's path after airlock resolved it: refused, never followed)";
  } else if (stage == "open bind source") {
    msg += " (is the bind source readable by the sandbox user?)";
  }
  if (stage == "seccomp" && has_seccomp) msg += " (seccomp filter could not be installed)";
  return msg;
}

namespace {

std::string SignalName(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", signo);
}

// Killed for an interrupt: the payload did not report (cold: init died with it) or died of SIGKILL.
bool EndedByInterruptKill(const EndState& end) {
  if (!end.killed_on_interrupt) return false;
  return !end.payload_status || (WIFSIGNALED(*end.payload_status) && WTERMSIG(*end.payload_status) == SIGKILL);
}

}  // namespace

void ClassifyOutcome(const EndState& end, RunOutcome* outcome) {
  const int status = end.init_status.value_or(0);
  int init_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome->interrupt_signal = end.interrupt_signal;
  if (end.child_error) {
    outcome->reason = OutcomeReason::kSetupError;
    outcome->error = DescribeChildError(*end.child_error, end.has_seccomp, &outcome->exit_code);
  } else if (end.timed_out) {
    outcome->reason = OutcomeReason::kTimeout;
    outcome->exit_code = kExitTimeout;
    outcome->error = fmt::format("timeout after {} ms: the sandbox was killed", end.timeout ? end.timeout->count() : 0);
  } else if (EndedByInterruptKill(end)) {
    outcome->reason = OutcomeReason::kSignaled;
    outcome->child_signal = SIGKILL;
    outcome->exit_code = 128 + end.interrupt_signal;
    outcome->error = fmt::format("interrupted by {}: the sandbox was killed", SignalName(end.interrupt_signal));
  } else if (end.payload_status) {
    int ps = *end.payload_status;
    if (WIFSIGNALED(ps)) {
      outcome->child_signal = WTERMSIG(ps);
      outcome->exit_code = 128 + WTERMSIG(ps);
      bool by_limit = end.limit_hit || (WTERMSIG(ps) == SIGKILL && end.memory_limited);
      outcome->reason = by_limit ? OutcomeReason::kKilledByLimit : OutcomeReason::kSignaled;
      if (by_limit) outcome->error = "killed by a resource limit (memory or pids)";
    } else {
      outcome->child_exit_status = WEXITSTATUS(ps);
      outcome->exit_code = WEXITSTATUS(ps);
      outcome->reason = OutcomeReason::kOk;
    }
  } else {
    // init died without reporting (killed from outside, or by a limit).
    outcome->exit_code = init_code;
    outcome->reason = end.limit_hit ? OutcomeReason::kKilledByLimit : OutcomeReason::kSignaled;
    if (WIFSIGNALED(status)) outcome->child_signal = WTERMSIG(status);
    outcome->error = end.limit_hit ? "killed by a resource limit" : "the sandbox init was killed";
  }
}

void CountFilelessExecution(const NotifyEvent& ev, std::map<std::string, uint64_t>& observed) {
  if (ev.name == "memfd_create" || (ev.name == "execveat" && (ev.data->args[4] & AT_EMPTY_PATH))) ++observed[ev.name];
}

void FinishNotifySupervisor(std::thread& supervisor, int stop_fd, const std::map<std::string, uint64_t>& observed,
                            const Result<NotifyStats>& stats, RunOutcome* outcome) {
  if (!supervisor.joinable()) return;
  uint64_t one = 1;
  if (::write(stop_fd, &one, sizeof one) != sizeof one) LogWarning("cannot stop seccomp supervisor");
  supervisor.join();
  outcome->observed_syscalls = observed;
  if (!observed.empty()) {
    outcome->not_enforced.push_back("fileless execution observed (memfd_create/execveat): allowed by the policy, reported");
  }
  if (stats) {
    outcome->denied_syscalls = stats->denials;
    outcome->monitor_lost = stats->lost;
  } else {
    outcome->not_enforced.push_back("seccomp denial counting failed: " + stats.error().What());
  }
}

}  // namespace airlock
