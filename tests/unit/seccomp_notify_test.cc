// seccomp: denial counting through SECCOMP_RET_USER_NOTIF with the notify supervisor, in forked
// children that pass their listener fd to the test over SCM_RIGHTS.
#include "seccomp/notify.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <sched.h>

#include "core/unique_fd.h"
#include "seccomp/seccomp.h"

namespace airlock {
namespace {

void SendFd(int sock, int fd) {
  char dummy = 'f';
  iovec iov{&dummy, 1};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  (void)!sendmsg(sock, &msg, 0);
}

UniqueFd RecvFd(int sock) {
  char dummy;
  iovec iov{&dummy, 1};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0) return UniqueFd();
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return UniqueFd();
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
}

struct Sandboxed {
  pid_t pid = -1;
  UniqueFd listener;
  UniqueFd results;  // longs written by the child
};

// Forks a child that installs `program`, sends the listener, closes it, then runs body.
template <class Body>
Sandboxed StartChild(const SeccompProgram& program, Body body) {
  int sv[2], res[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  EXPECT_EQ(pipe2(res, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    close(res[0]);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(120);
    int listener = InstallSeccompInChild(program);
    if (listener <= 0) _exit(121);
    SendFd(sv[1], listener);
    close(listener);
    close(sv[1]);
    int out = res[1];
    body([out](long v) { (void)!write(out, &v, sizeof v); });
    _exit(0);
  }
  close(sv[1]);
  close(res[1]);
  Sandboxed s;
  s.pid = pid;
  s.listener = RecvFd(sv[0]);
  close(sv[0]);
  s.results = UniqueFd(res[0]);
  return s;
}

std::vector<long> ReadAll(int fd) {
  std::vector<long> v;
  long x;
  while (read(fd, &x, sizeof x) == sizeof x) v.push_back(x);
  return v;
}

long Err(long r) { return r < 0 ? errno : 0; }

TEST(SeccompNotify, CountsDenialsByNameAndAnswersWithTheirErrno) {
  SeccompPolicy pol;  // count_denials is the default
  SeccompCompileOptions opt;
  opt.notify_syscalls = {"getppid", "uname"};
  auto prog = CompileSeccomp(pol, opt);
  ASSERT_TRUE(prog) << prog.error().What();
  ASSERT_TRUE(prog->uses_user_notif);
  const pid_t parent = getpid();

  Sandboxed s = StartChild(*prog, [](auto report) {
    report(Err(syscall(SYS_mount, "none", "/nonexistent-airlock-test", "tmpfs", 0, nullptr)));
    report(Err(syscall(SYS_mount, "none", "/nonexistent-airlock-test", "tmpfs", 0, nullptr)));
    report(Err(syscall(SYS_ptrace, 0, 0, nullptr, nullptr)));
    report(Err(syscall(1000)));
    long rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (rc == 0) _exit(0);
    report(Err(rc));
    report(Err(socket(AF_PACKET, SOCK_RAW, 0)));
    report(getppid());                      // monitored: continues to the kernel
    report(Err(syscall(SYS_uname, nullptr)));  // monitored: the hook fails it with EACCES
    report(Err(syscall(SYS_clone3, nullptr, 0)));
  });
  ASSERT_GT(s.pid, 0);
  ASSERT_TRUE(s.listener.valid());

  std::atomic<int> hooked_getppid{0};
  NotifyHook hook = [&hooked_getppid](const NotifyEvent& ev) {
    if (ev.name == "getppid") {
      ++hooked_getppid;
      return NotifyAnswer{};
    }
    return NotifyAnswer{false, EACCES};
  };
  std::map<std::string, int> denied_seen;  // name -> errno, from the denied hook
  NotifyDeniedHook denied_hook = [&denied_seen](const NotifyEvent& ev) { denied_seen[ev.name] = ev.deny_errno; };
  auto fut = std::async(std::launch::async,
                        [&] { return RunNotifySupervisor(s.listener.get(), *prog, -1, hook, denied_hook); });

  std::vector<long> results = ReadAll(s.results.get());
  int st = 0;
  ASSERT_EQ(waitpid(s.pid, &st, 0), s.pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  // Reaping the child drops the filter's last user: the supervisor must see POLLHUP and return.
  // (The wait is a hang guard, not a timing assertion.)
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(30)), std::future_status::ready) << "supervisor did not stop on POLLHUP";
  auto stats = fut.get();
  ASSERT_TRUE(stats) << stats.error().What();

  ASSERT_EQ(results.size(), 9u);
  EXPECT_EQ(results[0], EPERM);
  EXPECT_EQ(results[1], EPERM);
  EXPECT_EQ(results[2], EPERM);
  EXPECT_EQ(results[3], ENOSYS);
  EXPECT_EQ(results[4], EPERM);
  EXPECT_EQ(results[5], EPERM);
  EXPECT_EQ(results[6], parent);
  EXPECT_EQ(results[7], EACCES);
  EXPECT_EQ(results[8], ENOSYS);

  std::map<std::string, uint64_t> want = {{"mount", 2}, {"ptrace", 1}, {"syscall_1000", 1},
                                          {"clone", 1}, {"socket", 1}};  // clone3 is answered in the kernel
  EXPECT_EQ(stats->denials, want);
  EXPECT_EQ(stats->monitored, 2u);
  EXPECT_EQ(hooked_getppid.load(), 1);
  std::map<std::string, int> want_seen = {{"mount", EPERM}, {"ptrace", EPERM}, {"syscall_1000", ENOSYS},
                                          {"clone", EPERM}, {"socket", EPERM}};
  EXPECT_EQ(denied_seen, want_seen);
}

TEST(SeccompNotify, StopsWhenAskedThroughTheEventfd) {
  auto prog = CompileSeccomp(SeccompPolicy{});
  ASSERT_TRUE(prog) << prog.error().What();
  int gate[2];
  ASSERT_EQ(pipe2(gate, O_CLOEXEC), 0);
  Sandboxed s = StartChild(*prog, [&gate](auto report) {
    close(gate[1]);
    char c;
    (void)!read(gate[0], &c, 1);  // blocks until the test closes the gate
    report(Err(syscall(SYS_bpf, 0, nullptr, 0)));
  });
  close(gate[0]);
  ASSERT_TRUE(s.listener.valid());
  UniqueFd stop(eventfd(0, EFD_CLOEXEC));
  auto fut = std::async(std::launch::async, [&] { return RunNotifySupervisor(s.listener.get(), *prog, stop.get()); });
  uint64_t one = 1;
  ASSERT_EQ(write(stop.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(30)), std::future_status::ready) << "supervisor ignored the eventfd";
  auto stats = fut.get();
  ASSERT_TRUE(stats) << stats.error().What();
  EXPECT_TRUE(stats->denials.empty());
  // Synchronous wake-ups exist from Linux 6.6 on; there the supervisor must have engaged them.
  utsname u{};
  int major = 0, minor = 0;
  ASSERT_EQ(uname(&u), 0);
  ASSERT_EQ(std::sscanf(u.release, "%d.%d", &major, &minor), 2) << u.release;
  if (major > 6 || (major == 6 && minor >= 6)) {
    EXPECT_TRUE(stats->sync_wakeup) << u.release;
  } else {
    std::fprintf(stderr, "note: kernel %s predates SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP; not checked\n", u.release);
  }
  // With the supervisor gone and the listener closed, a notifying syscall fails with ENOSYS.
  s.listener.reset();
  close(gate[1]);
  std::vector<long> results = ReadAll(s.results.get());
  int st = 0;
  waitpid(s.pid, &st, 0);
  EXPECT_EQ(results, std::vector<long>{ENOSYS});
}

TEST(SeccompNotify, RejectsAMissingListener) {
  auto prog = CompileSeccomp(SeccompPolicy{});
  ASSERT_TRUE(prog);
  auto r = RunNotifySupervisor(-1, *prog);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err(), EBADF);
}

}  // namespace
}  // namespace airlock
