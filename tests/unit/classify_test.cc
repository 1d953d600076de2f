// How a run ended, in RunOutcome terms (src/sandbox/classify.h): each end state (setup error, timeout,
// exit, signal, limit kill, seccomp kill, init killed) maps to one reason and one exit code.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "sandbox/classify.h"

using namespace airlock;

namespace {

int Exited(int code) { return W_EXITCODE(code, 0); }
int Killed(int sig) { return W_EXITCODE(0, sig); }

ChildErrorRecord ChildError(const char* stage, const char* detail, int err) {
  ChildErrorRecord rec{};
  rec.err = err;
  std::strncpy(rec.stage, stage, sizeof rec.stage - 1);
  std::strncpy(rec.detail, detail, sizeof rec.detail - 1);
  return rec;
}

// What init reports when it exits after the payload: 0 (init passes the payload status separately).
EndState Ended(int payload_status) {
  EndState end;
  end.payload_status = payload_status;
  end.init_status = Exited(0);
  return end;
}

RunOutcome Classify(const EndState& end) {
  RunOutcome o;
  ClassifyOutcome(end, &o);
  return o;
}

bool Contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST(ClassifyOutcome, CleanExitPassesTheStatusThrough) {
  RunOutcome o = Classify(Ended(Exited(0)));
  EXPECT_EQ(o.reason, OutcomeReason::kOk);
  EXPECT_EQ(o.exit_code, 0);
  ASSERT_TRUE(o.child_exit_status);
  EXPECT_EQ(*o.child_exit_status, 0);
  EXPECT_FALSE(o.child_signal);
  EXPECT_EQ(o.error, "");

  o = Classify(Ended(Exited(3)));
  EXPECT_EQ(o.reason, OutcomeReason::kOk);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_EQ(o.child_exit_status, 3);
}

TEST(ClassifyOutcome, PayloadExitCodesThatLookLikeAirlocksOwnStayTheChilds) {
  // The payload may itself exit 125/127: the reason still says ok (the report tells them apart).
  RunOutcome o = Classify(Ended(Exited(kExitNotFound)));
  EXPECT_EQ(o.reason, OutcomeReason::kOk);
  EXPECT_EQ(o.exit_code, kExitNotFound);
  EXPECT_EQ(o.child_exit_status, kExitNotFound);
}

TEST(ClassifyOutcome, SignalIs128PlusN) {
  RunOutcome o = Classify(Ended(Killed(SIGSEGV)));
  EXPECT_EQ(o.reason, OutcomeReason::kSignaled);
  EXPECT_EQ(o.exit_code, 128 + SIGSEGV);
  EXPECT_EQ(o.child_signal, SIGSEGV);
  EXPECT_FALSE(o.child_exit_status);
  EXPECT_EQ(o.error, "");
}

TEST(ClassifyOutcome, SeccompKillIsASigsysSignal) {
  // SECCOMP_RET_KILL_PROCESS ends the payload with SIGSYS; with a filter in force it is still "signaled".
  EndState end = Ended(Killed(SIGSYS));
  end.has_seccomp = true;
  RunOutcome o = Classify(end);
  EXPECT_EQ(o.reason, OutcomeReason::kSignaled);
  EXPECT_EQ(o.exit_code, 128 + SIGSYS);
  EXPECT_EQ(o.child_signal, SIGSYS);
}

TEST(ClassifyOutcome, LimitHitTurnsASignalIntoKilledByLimit) {
  EndState end = Ended(Killed(SIGKILL));
  end.limit_hit = true;
  RunOutcome o = Classify(end);
  EXPECT_EQ(o.reason, OutcomeReason::kKilledByLimit);
  EXPECT_EQ(o.exit_code, 128 + SIGKILL);
  EXPECT_EQ(o.child_signal, SIGKILL);
  EXPECT_TRUE(Contains(o.error, "resource limit")) << o.error;

  // The cgroup counter may lag: SIGKILL under a memory limit counts as the limit.
  EndState oom = Ended(Killed(SIGKILL));
  oom.memory_limited = true;
  EXPECT_EQ(Classify(oom).reason, OutcomeReason::kKilledByLimit);

  // ...but only SIGKILL: a SIGTERM under a memory limit is an ordinary signal.
  EndState term = Ended(Killed(SIGTERM));
  term.memory_limited = true;
  RunOutcome t = Classify(term);
  EXPECT_EQ(t.reason, OutcomeReason::kSignaled);
  EXPECT_EQ(t.error, "");

  // A clean exit stays ok even when the cgroup saw the limit (e.g. a child of the payload was killed).
  EndState clean = Ended(Exited(0));
  clean.limit_hit = true;
  EXPECT_EQ(Classify(clean).reason, OutcomeReason::kOk);
}

TEST(ClassifyOutcome, TimeoutWinsOverThePayloadStatus) {
  EndState end = Ended(Killed(SIGKILL));
  end.timed_out = true;
  end.timeout = std::chrono::milliseconds(1500);
  RunOutcome o = Classify(end);
  EXPECT_EQ(o.reason, OutcomeReason::kTimeout);
  EXPECT_EQ(o.exit_code, kExitTimeout);
  EXPECT_EQ(o.error, "timeout after 1500 ms: the sandbox was killed");
  EXPECT_FALSE(o.child_signal);
}

TEST(ClassifyOutcome, SetupErrorWinsOverTimeout) {
  EndState end;
  end.child_error = ChildError("mount /usr", "/usr", EACCES);
  end.timed_out = true;
  end.init_status = Exited(kChildSetupExit);
  RunOutcome o = Classify(end);
  EXPECT_EQ(o.reason, OutcomeReason::kSetupError);
  EXPECT_EQ(o.exit_code, kExitSetup);
  EXPECT_EQ(o.error, std::string("sandbox setup failed at 'mount /usr' (/usr): ") + std::strerror(EACCES));
}

TEST(ClassifyOutcome, InitKilledWithoutReport) {
  EndState end;
  end.init_status = Killed(SIGKILL);
  RunOutcome o = Classify(end);
  EXPECT_EQ(o.reason, OutcomeReason::kSignaled);
  EXPECT_EQ(o.exit_code, 128 + SIGKILL);
  EXPECT_EQ(o.child_signal, SIGKILL);
  EXPECT_EQ(o.error, "the sandbox init was killed");

  end.limit_hit = true;
  o = Classify(end);
  EXPECT_EQ(o.reason, OutcomeReason::kKilledByLimit);
  EXPECT_EQ(o.error, "killed by a resource limit");

  // init exited (no signal) without reporting the payload: its code is passed on, no signal claimed.
  EndState exited;
  exited.init_status = Exited(1);
  RunOutcome e = Classify(exited);
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_FALSE(e.child_signal);
  EXPECT_FALSE(e.child_exit_status);
}

// --on-interrupt kill: a sandbox killed for SIGINT ends as "signaled" with 130 (cold: init died with
// the payload; warm: the payload reported SIGKILL); a payload that had already exited keeps its status.
// Forwarded interrupts only mark the run.
TEST(ClassifyOutcome, InterruptKillIs128PlusTheInterrupt) {
  EndState cold;
  cold.init_status = Killed(SIGKILL);
  cold.interrupt_signal = SIGINT;
  cold.killed_on_interrupt = true;
  RunOutcome o = Classify(cold);
  EXPECT_EQ(o.reason, OutcomeReason::kSignaled);
  EXPECT_EQ(o.exit_code, 130);
  EXPECT_EQ(o.child_signal, SIGKILL);
  EXPECT_EQ(o.interrupt_signal, SIGINT);
  EXPECT_EQ(o.error, "interrupted by SIGINT: the sandbox was killed");

  EndState warm = Ended(Killed(SIGKILL));
  warm.interrupt_signal = SIGTERM;
  warm.killed_on_interrupt = true;
  o = Classify(warm);
  EXPECT_EQ(o.exit_code, 128 + SIGTERM);
  EXPECT_EQ(o.error, "interrupted by SIGTERM: the sandbox was killed");

  EndState done_first = Ended(Exited(0));
  done_first.interrupt_signal = SIGHUP;
  done_first.killed_on_interrupt = true;
  o = Classify(done_first);
  EXPECT_EQ(o.reason, OutcomeReason::kOk);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.interrupt_signal, SIGHUP);

  EndState forwarded = Ended(Killed(SIGINT));
  forwarded.interrupt_signal = SIGINT;
  o = Classify(forwarded);
  EXPECT_EQ(o.reason, OutcomeReason::kSignaled);
  EXPECT_EQ(o.exit_code, 130);
  EXPECT_EQ(o.child_signal, SIGINT);
  EXPECT_EQ(o.interrupt_signal, SIGINT);
  EXPECT_TRUE(o.error.empty());
}

TEST(DescribeChildError, ExecNotFoundAndNotExecutable) {
  int code = 0;
  EXPECT_EQ(DescribeChildError(ChildError("exec", "frobnicate", ENOENT), false, &code),
            "command not found inside the sandbox: frobnicate");
  EXPECT_EQ(code, kExitNotFound);
  std::string msg = DescribeChildError(ChildError("exec", "/etc/passwd", EACCES), false, &code);
  EXPECT_EQ(code, kExitNotExecutable);
  EXPECT_EQ(msg, std::string("cannot execute /etc/passwd: ") + std::strerror(EACCES));

  EndState end;
  end.child_error = ChildError("exec", "frobnicate", ENOENT);
  end.init_status = Exited(kChildSetupExit);
  RunOutcome o = Classify(end);
  EXPECT_EQ(o.reason, OutcomeReason::kSetupError);
  EXPECT_EQ(o.exit_code, kExitNotFound);
}

TEST(DescribeChildError, HintsAndEmptyDetail) {
  int code = 0;
  std::string seccomp = DescribeChildError(ChildError("seccomp", "", EINVAL), true, &code);
  EXPECT_EQ(code, kExitSetup);
  EXPECT_EQ(seccomp, std::string("sandbox setup failed at 'seccomp': ") + std::strerror(EINVAL) +
                         " (seccomp filter could not be installed)");
  EXPECT_FALSE(Contains(DescribeChildError(ChildError("seccomp", "", EINVAL), false, &code), "could not be installed"));
  EXPECT_TRUE(Contains(DescribeChildError(ChildError("open bind source", "/srv", EACCES), false, &code),
                       "(is the bind source readable by the sandbox user?)"));
  // errno 0: no strerror text ("Success" would be misleading).
  EXPECT_EQ(DescribeChildError(ChildError("pivot_root", "", 0), false, &code), "sandbox setup failed at 'pivot_root': ");
}

TEST(CountFilelessExecution, CountsMemfdAndFdExecveatOnly) {
  std::map<std::string, uint64_t> observed;
  seccomp_data data{};
  NotifyEvent ev;
  ev.data = &data;
  ev.name = "memfd_create";
  CountFilelessExecution(ev, observed);
  CountFilelessExecution(ev, observed);
  ev.name = "execveat";
  data.args[4] = 0;  // a path-based execveat
  CountFilelessExecution(ev, observed);
  data.args[4] = AT_EMPTY_PATH;  // executing the fd itself
  CountFilelessExecution(ev, observed);
  ev.name = "openat";
  CountFilelessExecution(ev, observed);
  EXPECT_EQ(observed, (std::map<std::string, uint64_t>{{"execveat", 1}, {"memfd_create", 2}}));
}
