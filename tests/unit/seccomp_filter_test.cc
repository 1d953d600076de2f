// seccomp: the compiled default filter installed in forked children (irreversible, so never in the
// test process itself). Each probe is chosen so that it gives a different result without the filter.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "seccomp/seccomp.h"

// Forked-child harness: the child sets no_new_privs, installs the filter, runs a body that reports
// numbers through a pipe.
namespace airlock::seccomp_test {

struct ChildResult {
  int status = -1;           // waitpid status
  std::vector<long> values;  // what the body reported, in order
  int install_rc = 0;        // InstallSeccompInChild's result (first value written)
};

// errno of the last call when r < 0, else 0.
inline long Err(long r) { return r < 0 ? errno : 0; }

// Forks; the child sets no_new_privs, installs `program`, runs body(report) and _exit(0)s.
// body must not return into gtest; report() writes one long to the parent.
inline ChildResult RunFiltered(const SeccompProgram& program,
                               const std::function<void(const std::function<void(long)>& report)>& body) {
  ChildResult result;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return result;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    int out = fds[1];
    auto report = [out](long v) { (void)!write(out, &v, sizeof v); };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(120);
    long rc = InstallSeccompInChild(program);
    report(rc);
    if (rc < 0) _exit(121);
    body(report);
    _exit(0);
  }
  close(fds[1]);
  long v;
  bool first = true;
  while (read(fds[0], &v, sizeof v) == sizeof v) {
    if (first) result.install_rc = static_cast<int>(v);
    else result.values.push_back(v);
    first = false;
  }
  close(fds[0]);
  waitpid(pid, &result.status, 0);
  return result;
}

}  // namespace airlock::seccomp_test

namespace airlock {
namespace {

using seccomp_test::Err;
using seccomp_test::RunFiltered;

SeccompProgram Compile(SeccompPolicy pol = {}) {
  pol.count_denials = false;  // plain ERRNO actions: no supervisor needed in these tests
  auto p = CompileSeccomp(pol);
  EXPECT_TRUE(p) << p.error().What();
  return p ? *p : SeccompProgram{};
}

void ExpectExitedOk(int status) {
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(SeccompFilter, AllowedCallsWork) {
  auto r = RunFiltered(Compile(), [](auto report) {
    report(getpid() > 0 ? 0 : 1);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    report(fd >= 0 ? 0 : errno);
    char c;
    report(Err(read(fd, &c, 1)));
    report(Err(ioctl(fd, TCGETS, &c)));  // allowed through the filter; the kernel says ENOTTY
    close(fd);
    int p[2];
    report(Err(pipe2(p, O_CLOEXEC)));
    report(Err(write(p[1], "x", 1)));
    void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    report(m == MAP_FAILED ? errno : 0);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    report(s >= 0 ? 0 : errno);
    int u = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    report(u >= 0 ? 0 : errno);
    report(Err(personality(0xffffffff)));
    pid_t child = fork();  // clone without namespace flags
    if (child == 0) _exit(7);
    int st = 0;
    waitpid(child, &st, 0);
    report(WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  });
  ExpectExitedOk(r.status);
  EXPECT_EQ(r.install_rc, 0);
  ASSERT_EQ(r.values.size(), 11u);
  EXPECT_EQ(r.values[0], 0);
  EXPECT_EQ(r.values[1], 0);
  EXPECT_EQ(r.values[2], 0);
  EXPECT_EQ(r.values[3], ENOTTY);
  for (size_t i = 4; i < 9; ++i) EXPECT_EQ(r.values[i], 0) << i;
  EXPECT_EQ(r.values[9], 0);  // personality query returns the current persona (>= 0)
  EXPECT_EQ(r.values[10], 7);
}

TEST(SeccompFilter, DangerousSyscallsGetEperm) {
  auto r = RunFiltered(Compile(), [](auto report) {
    report(Err(syscall(SYS_mount, "none", "/nonexistent-airlock-test", "tmpfs", 0, nullptr)));
    report(Err(syscall(SYS_unshare, CLONE_NEWUSER)));
    report(Err(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)));
    report(Err(syscall(SYS_bpf, 0, nullptr, 0)));
    report(Err(syscall(SYS_ptrace, PTRACE_PEEKDATA, getppid(), nullptr, nullptr)));
    report(Err(syscall(SYS_io_uring_setup, 1, nullptr)));
    report(Err(syscall(SYS_open_by_handle_at, AT_FDCWD, nullptr, 0)));
    report(Err(syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0)));
    report(Err(syscall(SYS_userfaultfd, O_CLOEXEC)));
    report(Err(syscall(SYS_setns, -1, 0)));
    report(Err(syscall(SYS_chroot, "/")));
    report(Err(syscall(SYS_fsopen, "tmpfs", 0)));
    report(Err(syscall(SYS_init_module, nullptr, 0, "")));
  });
  ExpectExitedOk(r.status);
  ASSERT_EQ(r.values.size(), 13u);
  for (size_t i = 0; i < r.values.size(); ++i) EXPECT_EQ(r.values[i], EPERM) << "probe " << i;
}

TEST(SeccompFilter, UnknownSyscallAndClone3GetEnosys) {
  auto r = RunFiltered(Compile(), [](auto report) {
    report(Err(syscall(1000)));
    clone_args args{};
    args.exit_signal = SIGCHLD;
    long rc = syscall(SYS_clone3, &args, sizeof args);
    if (rc == 0) _exit(0);
    report(Err(rc));
    if (rc > 0) waitpid(static_cast<pid_t>(rc), nullptr, 0);
    rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (rc == 0) _exit(0);
    report(Err(rc));
    if (rc > 0) waitpid(static_cast<pid_t>(rc), nullptr, 0);
  });
  ExpectExitedOk(r.status);
  ASSERT_EQ(r.values.size(), 3u);
  EXPECT_EQ(r.values[0], ENOSYS);
  EXPECT_EQ(r.values[1], ENOSYS);  // clone3: libc falls back to clone
  EXPECT_EQ(r.values[2], EPERM);   // clone(CLONE_NEWUSER)
}

TEST(SeccompFilter, ArgumentRules) {
  std::string dir = "/tmp/airlock-seccomp-mknod-" + std::to_string(getpid());
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  auto r = RunFiltered(Compile(), [&dir](auto report) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char c = 'x';
    report(Err(syscall(SYS_ioctl, fd, TIOCSTI | (1UL << 32), &c)));
    report(Err(syscall(SYS_ioctl, fd, TIOCSTI, &c)));
    report(Err(syscall(SYS_ioctl, fd, TIOCLINUX, &c)));
    report(Err(socket(AF_PACKET, SOCK_RAW, 0)));
    report(Err(socket(AF_ALG, SOCK_SEQPACKET, 0)));
    report(Err(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)));
    report(Err(socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6)));
    report(Err(socket(AF_VSOCK, SOCK_STREAM, 0)));
    report(Err(prctl(PR_SET_MM, PR_SET_MM_START_CODE, 0, 0, 0)));
    report(Err(personality(READ_IMPLIES_EXEC)));
    report(Err(mknod((dir + "/chr").c_str(), S_IFCHR | 0600, makedev(1, 3))));
    report(Err(mknodat(AT_FDCWD, (dir + "/blk").c_str(), S_IFBLK | 0600, makedev(7, 0))));
    report(Err(mknod((dir + "/fifo").c_str(), S_IFIFO | 0600, 0)));
    report(Err(prctl(PR_SET_NAME, "probe", 0, 0, 0)));
  });
  std::string cleanup = "rm -rf '" + dir + "'";
  (void)!std::system(cleanup.c_str());
  ExpectExitedOk(r.status);
  ASSERT_EQ(r.values.size(), 14u);
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(r.values[i], EPERM) << "probe " << i;
  EXPECT_EQ(r.values[12], 0);  // FIFOs are fine
  EXPECT_EQ(r.values[13], 0);
}

TEST(SeccompFilter, X32SyscallKillsTheProcess) {
  auto r = RunFiltered(Compile(), [](auto report) {
    report(1);
    syscall(0x40000000L | SYS_getpid);
    report(2);  // must not be reached
  });
  EXPECT_EQ(r.values, std::vector<long>{1});
  ASSERT_TRUE(WIFSIGNALED(r.status)) << "status " << r.status;
  EXPECT_EQ(WTERMSIG(r.status), SIGSYS);
}

long Int80Getpid() {
  long ret = 20;  // __NR_getpid on i386
  asm volatile("int $0x80" : "+a"(ret) : : "memory", "cc", "r8", "r9", "r10", "r11");
  return ret;
}

TEST(SeccompFilter, I386SyscallKillsTheProcess) {
  // Without IA32 emulation, int 0x80 faults on its own (SIGSEGV) and says nothing about the filter.
  pid_t probe = fork();
  if (probe == 0) _exit(Int80Getpid() == getpid() ? 0 : 1);
  int st = 0;
  waitpid(probe, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) GTEST_SKIP() << "kernel has no IA32 emulation (int 0x80 unusable)";
  auto r = RunFiltered(Compile(), [](auto report) {
    report(1);
    Int80Getpid();
    report(2);
  });
  EXPECT_EQ(r.values, std::vector<long>{1});
  ASSERT_TRUE(WIFSIGNALED(r.status)) << "status " << r.status;
  EXPECT_EQ(WTERMSIG(r.status), SIGSYS);
}

TEST(SeccompFilter, AllowBackPtraceLetsPtraceThrough) {
  SeccompPolicy pol;
  pol.allow = {"@ptrace"};
  auto r = RunFiltered(Compile(pol), [](auto report) {
    report(Err(syscall(SYS_ptrace, PTRACE_PEEKDATA, getppid(), nullptr, nullptr)));
    report(Err(syscall(SYS_mount, "none", "/nonexistent-airlock-test", "tmpfs", 0, nullptr)));
  });
  ExpectExitedOk(r.status);
  ASSERT_EQ(r.values.size(), 2u);
  EXPECT_EQ(r.values[0], ESRCH);  // reached the kernel: the parent is not our tracee
  EXPECT_EQ(r.values[1], EPERM);
}

TEST(SeccompFilter, DenyRemovesFromTheDefault) {
  SeccompPolicy pol;
  pol.deny = {"@network"};
  auto r = RunFiltered(Compile(pol), [](auto report) { report(Err(socket(AF_UNIX, SOCK_STREAM, 0))); });
  ExpectExitedOk(r.status);
  EXPECT_EQ(r.values, std::vector<long>{EPERM});
}

// Runs argv with the default filter, stdout captured; returns {exit status, stdout}.
std::pair<int, std::string> ExecFiltered(const std::vector<const char*>& argv) {
  SeccompProgram prog = Compile();
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return {-1, ""};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    std::vector<char*> args;
    for (const char* a : argv) args.push_back(const_cast<char*>(a));
    args.push_back(nullptr);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || InstallSeccompInChild(prog) != 0) _exit(120);
    char* envp[] = {const_cast<char*>("PATH=/usr/bin:/bin"), const_cast<char*>("LANG=C"), nullptr};
    execve(args[0], args.data(), envp);
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int st = -1;
  waitpid(pid, &st, 0);
  return {st, text};
}

TEST(SeccompPrograms, TrueRuns) {
  auto [st, out] = ExecFiltered({"/bin/true"});
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

TEST(SeccompPrograms, ShellPipelineRuns) {
  auto [st, out] = ExecFiltered(
      {"/bin/sh", "-c", "printf hello | tr a-z A-Z | wc -c; ls / >/dev/null && echo ok; x=$(echo sub); echo $x"});
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
  EXPECT_EQ(out, "5\nok\nsub\n");
}

TEST(SeccompPrograms, InterpretersRun) {
  int ran = 0;
  if (access("/usr/bin/python3", X_OK) == 0) {
    ++ran;
    auto [st, out] = ExecFiltered({"/usr/bin/python3", "-S", "-c",
                                   "import os, socket, subprocess, threading, tempfile\n"
                                   "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
                                   "s = socket.socket(); s.close()\n"
                                   "print(subprocess.run(['/bin/echo', 'py'], capture_output=True).stdout.decode().strip())"});
    ASSERT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 0);
    EXPECT_EQ(out, "py\n");
  }
  if (access("/usr/bin/perl", X_OK) == 0) {
    ++ran;
    auto [st, out] = ExecFiltered({"/usr/bin/perl", "-e", "my $p = fork(); if (!$p) { exit 3 } waitpid($p, 0); print $? >> 8, qq(\\n)"});
    ASSERT_TRUE(WIFEXITED(st));
    EXPECT_EQ(WEXITSTATUS(st), 0);
    EXPECT_EQ(out, "3\n");
  }
  if (ran == 0) GTEST_SKIP() << "neither python3 nor perl installed";
}

}  // namespace
}  // namespace airlock
