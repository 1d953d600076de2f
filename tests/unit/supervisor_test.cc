// The supervisor (sandbox/supervisor.h) around a plain forked child standing in for a sandbox's init:
// same pipes and records, the child watched through its pidfd (ClonedInit, as a cold run does). No
// namespaces: what is tested is the loop (exit status, records, timeout, forwarded signals) and that
// the signal mask and SIGPIPE's disposition are restored on every path.
#include "sandbox/supervisor.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <thread>

#include "core/unique_fd.h"
#include "kernel/syscalls.h"
#include "process/child_error.h"
#include "sandbox/child.h"
#include "sandbox/launcher.h"

namespace airlock {
namespace {

struct Pipe {
  UniqueFd r, w;
};
Pipe MakePipe() {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// A forked child running `body(error_w, status_w)` with the mask the supervisor saved; the test keeps
// the read ends as SupervisedChannels.
struct Forked {
  std::optional<ClonedInit> init;
  SupervisedChannels channels;
};

Forked Fork(const Supervisor& sup, const std::function<void(int, int)>& body) {
  Pipe err = MakePipe(), status = MakePipe(), sync = MakePipe();
  int pidfd = -1;
  pid_t pid = kernel::CloneForkLike(0, &pidfd);
  if (pid == 0) {
    ::sigprocmask(SIG_SETMASK, &sup.saved_mask(), nullptr);
    body(err.w.get(), status.w.get());
    _exit(0);
  }
  EXPECT_GT(pid, 0);
  Forked f;
  f.init.emplace(pid, UniqueFd(pidfd), std::move(sync.w));
  f.channels.error_r = std::move(err.r);
  f.channels.status_r = std::move(status.r);
  return f;
}

void WriteStatus(int fd, int raw) {
  StatusRecord rec;
  rec.raw_status = raw;
  ASSERT_EQ(::write(fd, &rec, sizeof rec), static_cast<ssize_t>(sizeof rec));
}

bool Blocked(int sig) {
  sigset_t cur;
  ::sigprocmask(SIG_SETMASK, nullptr, &cur);
  return sigismember(&cur, sig) == 1;
}

void* SigpipeHandler() {
  struct sigaction sa {};
  ::sigaction(SIGPIPE, nullptr, &sa);
  return reinterpret_cast<void*>(sa.sa_handler);
}

class CountingObserver : public SupervisorObserver {
 public:
  void OnPayloadStatus(const StatusRecord& rec) override { statuses.push_back(rec.raw_status); }
  std::vector<int> statuses;
};

TEST(Supervisor, ReadsExitStatusAndStatusRecord) {
  CountingObserver obs;
  SupervisorOptions o;
  o.observer = &obs;
  Supervisor sup(o);
  Forked f = Fork(sup, [](int, int status_w) {
    WriteStatus(status_w, 7 << 8);
    _exit(7);
  });
  Supervised s = sup.Run(*f.init, f.channels);
  EXPECT_TRUE(s.ended);
  EXPECT_FALSE(s.timed_out);
  EXPECT_FALSE(s.child_error);
  ASSERT_TRUE(s.payload);
  EXPECT_EQ(s.payload->raw_status, 7 << 8);
  EXPECT_EQ(obs.statuses, std::vector<int>{7 << 8});
  ASSERT_TRUE(f.init->status());
  EXPECT_TRUE(WIFEXITED(*f.init->status()));
  EXPECT_EQ(WEXITSTATUS(*f.init->status()), 7);
}

TEST(Supervisor, ReadsChildErrorRecord) {
  Supervisor sup(SupervisorOptions{});
  Forked f = Fork(sup, [](int err_w, int) { ChildFail(err_w, "mount /usr", "detail", ENOENT); });
  Supervised s = sup.Run(*f.init, f.channels);
  ASSERT_TRUE(s.child_error);
  EXPECT_STREQ(s.child_error->stage, "mount /usr");
  EXPECT_EQ(s.child_error->err, ENOENT);
  EXPECT_EQ(WEXITSTATUS(*f.init->status()), kChildSetupExit);
}

TEST(Supervisor, TimeoutKillsTheChild) {
  SupervisorOptions o;
  o.timeout = std::chrono::milliseconds(200);
  Supervisor sup(o);
  Forked f = Fork(sup, [](int, int) { ::sleep(30); });
  auto t0 = std::chrono::steady_clock::now();
  Supervised s = sup.Run(*f.init, f.channels);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_TRUE(s.timed_out);
  EXPECT_TRUE(s.ended);
  ASSERT_TRUE(f.init->status());
  EXPECT_TRUE(WIFSIGNALED(*f.init->status()));
  EXPECT_EQ(WTERMSIG(*f.init->status()), SIGKILL);
}

TEST(Supervisor, ForwardsSignalsToTheChild) {
  Supervisor sup(SupervisorOptions{});
  Forked f = Fork(sup, [](int, int) {
    ::signal(SIGUSR1, SIG_DFL);
    for (;;) ::pause();
  });
  // A process-directed SIGUSR1 while the supervisor runs (blocked here, so its signalfd takes it).
  std::thread sender([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ::kill(::getpid(), SIGUSR1);
  });
  Supervised s = sup.Run(*f.init, f.channels);
  sender.join();
  EXPECT_TRUE(s.ended);
  ASSERT_TRUE(f.init->status());
  EXPECT_TRUE(WIFSIGNALED(*f.init->status()));
  EXPECT_EQ(WTERMSIG(*f.init->status()), SIGUSR1);
}

// A process-directed `signo` to ourselves while the supervisor runs (its signalfd takes it).
std::thread SendSoon(int signo) {
  return std::thread([signo] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ::kill(::getpid(), signo);
  });
}

TEST(Supervisor, InterruptsAreForwardedAndRecorded) {
  Supervisor sup(SupervisorOptions{});
  Forked f = Fork(sup, [](int, int) {
    ::signal(SIGTERM, SIG_DFL);
    for (;;) ::pause();
  });
  std::thread sender = SendSoon(SIGTERM);
  Supervised s = sup.Run(*f.init, f.channels);
  sender.join();
  EXPECT_EQ(s.interrupt_signal, SIGTERM);
  EXPECT_FALSE(s.killed_on_interrupt);
  ASSERT_TRUE(f.init->status());
  EXPECT_EQ(WTERMSIG(*f.init->status()), SIGTERM);
}

// kill_on_interrupt: a child that ignores SIGINT is killed (SIGKILL) instead of being sent it, and the
// interrupt signals stay blocked after Run (the caller's report cannot be lost to a second Ctrl-C).
TEST(Supervisor, KillOnInterruptKillsAChildThatIgnoresIt) {
  SupervisorOptions o;
  o.kill_on_interrupt = true;
  {
    Supervisor sup(o);
    Forked f = Fork(sup, [](int, int) {
      ::signal(SIGINT, SIG_IGN);
      for (;;) ::pause();
    });
    std::thread sender = SendSoon(SIGINT);
    Supervised s = sup.Run(*f.init, f.channels);
    sender.join();
    EXPECT_EQ(s.interrupt_signal, SIGINT);
    EXPECT_TRUE(s.killed_on_interrupt);
    ASSERT_TRUE(f.init->status());
    EXPECT_EQ(WTERMSIG(*f.init->status()), SIGKILL);
    EXPECT_TRUE(Blocked(SIGINT));
    EXPECT_TRUE(Blocked(SIGTERM));
    EXPECT_FALSE(Blocked(SIGUSR1));
  }
  EXPECT_TRUE(Blocked(SIGHUP));
  sigset_t interrupts;
  sigemptyset(&interrupts);
  for (int signo : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&interrupts, signo);
  ::sigprocmask(SIG_UNBLOCK, &interrupts, nullptr);
}

TEST(Supervisor, RestoresSignalMaskAndSigpipeAfterRun) {
  ASSERT_FALSE(Blocked(SIGTERM));
  void* before = SigpipeHandler();
  Supervisor sup(SupervisorOptions{});
  EXPECT_TRUE(Blocked(SIGTERM));
  EXPECT_TRUE(Blocked(SIGHUP));
  EXPECT_FALSE(Blocked(SIGALRM));  // forwarded by init only
  Forked f = Fork(sup, [](int, int) {});
  sup.IgnoreSigpipe();
  EXPECT_EQ(SigpipeHandler(), reinterpret_cast<void*>(SIG_IGN));
  (void)sup.Run(*f.init, f.channels);
  EXPECT_FALSE(Blocked(SIGTERM));
  EXPECT_FALSE(Blocked(SIGHUP));
  EXPECT_EQ(SigpipeHandler(), before);
}

TEST(Supervisor, RestoresSignalStateOnAnEarlyReturn) {
  void* before = SigpipeHandler();
  {
    Supervisor sup(SupervisorOptions{});
    sup.IgnoreSigpipe();
    EXPECT_TRUE(Blocked(SIGINT));
    // e.g. the launch failed: the supervisor goes out of scope without Run
  }
  EXPECT_FALSE(Blocked(SIGINT));
  EXPECT_EQ(SigpipeHandler(), before);
}

}  // namespace
}  // namespace airlock
