// Escape tier, host processes, terminal, environment and limits (tests/helpers/escape_proc.c).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "escape_util.h"

using namespace airlock::escape;
using airlock::test::AirlockBin;
using airlock::test::HelperDir;

namespace {

TEST(EscapeProc, PtraceOfAHostProcess) {
  HostSleeper sleeper;
  std::vector<std::string> params = {"hostpid=" + std::to_string(sleeper.pid())};
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_proc", "ptrace", params), "ptrace");
  EXPECT_TRUE(sleeper.Alive());
  // Control: from the host, the same probe attaches (and detaches) to its sibling.
  EXPECT_PROBE_ESCAPED(RunOnHost("escape_proc", "ptrace", params), "ptrace");
  EXPECT_TRUE(sleeper.Alive());
}

TEST(EscapeProc, KillOfAHostProcess) {
  HostSleeper sleeper;
  std::vector<std::string> params = {"hostpid=" + std::to_string(sleeper.pid())};
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_proc", "kill", params), "kill");
  EXPECT_TRUE(sleeper.Alive()) << "the host process was killed from inside the sandbox";
  // Control: from the host the probe does kill it.
  EXPECT_PROBE_ESCAPED(RunOnHost("escape_proc", "kill", params), "kill");
  EXPECT_TRUE(sleeper.WaitDead(10000));
}

TEST(EscapeProc, HostEnvironmentSecrets) {
  setenv("AIRLOCK_ESCAPE_SECRET", "hunter2-escape", 1);
  auto in = RunInSandbox("escape_proc", "environ");
  auto host = RunOnHost("escape_proc", "environ");
  unsetenv("AIRLOCK_ESCAPE_SECRET");
  EXPECT_PROBE_BLOCKED(in, "environ");
  EXPECT_EQ(in.out.find("hunter2"), std::string::npos);
  EXPECT_PROBE_ESCAPED(host, "environ");
}

// Runs `airlock run --report <report> -- /helpers/escape_proc <probe>` with a fresh pty as its
// controlling terminal and stdio. Returns what the pty showed; *pending is how many bytes were left
// waiting in the terminal's input queue afterwards (an injected character would be there).
std::string RunUnderPty(const std::string& probe, const std::string& report, int* pending, int* control_seen) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return "posix_openpt failed";
  std::string slave_name = ptsname(master);
  int slave = open(slave_name.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return "open slave failed";
  termios t{};
  tcgetattr(slave, &t);
  cfmakeraw(&t);
  tcsetattr(slave, TCSANOW, &t);
  // Control: a byte typed at the master is seen pending on the slave, so the check below can fail.
  (void)!write(master, "z", 1);
  for (int i = 0; i < 100 && *control_seen == 0; ++i) {
    ioctl(slave, FIONREAD, control_seen);
    if (*control_seen == 0) usleep(10000);
  }
  tcflush(slave, TCIFLUSH);

  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int s = open(slave_name.c_str(), O_RDWR);  // becomes the controlling terminal
    ioctl(s, TIOCSCTTY, 0);
    dup2(s, 0);
    dup2(s, 1);
    dup2(s, 2);
    std::string helpers = HelperDir();
    execl(AirlockBin().c_str(), "airlock", "run", "--report", report.c_str(), "--ro-bind", helpers.c_str(), "/helpers",
          "--", "/helpers/escape_proc", probe.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string out;
  int status = 0;
  for (int rounds = 0; rounds < 6000; ++rounds) {  // bounded: at most ~60 s
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 10) > 0 && (p.revents & POLLIN)) {
      char buf[4096];
      ssize_t n = read(master, buf, sizeof buf);
      if (n > 0) out.append(buf, static_cast<size_t>(n));
    }
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      break;
    }
  }
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  for (;;) {  // drain what is left
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0 || !(p.revents & POLLIN)) break;
    char buf[4096];
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  *pending = -1;
  ioctl(slave, FIONREAD, pending);
  close(slave);
  close(master);
  return out;
}

TEST(EscapeProc, TiocstiInjectsNothing) {
  int probe_pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (probe_pty < 0) GTEST_SKIP() << "no pseudo-terminals here (posix_openpt: " << strerror(errno) << ")";
  close(probe_pty);
  std::string dir = airlock::test::MakeTempDir("escape-tty");
  std::string report = dir + "/report.json";
  int pending = -1, control = 0;
  std::string out = RunUnderPty("tiocsti", report, &pending, &control);
  auto j = nlohmann::json::parse(airlock::test::ReadFileOrEmpty(report), nullptr, false);
  unlink(report.c_str());
  rmdir(dir.c_str());
  ASSERT_EQ(control, 1) << "the pty control failed: cannot detect injected input";
  airlock::test::RunResult r{0, out, ""};
  EXPECT_PROBE_BLOCKED(r, "tiocsti");
  EXPECT_EQ(pending, 0) << "a character was injected into the terminal's input";
  // The filter refused every attempt, with and without the high 32 bits (3 stdio fds x 2 requests, and
  // 2 more on /dev/tty: the sandbox's own terminal), rather than the kernel's own controlling-terminal check.
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_GE(j["denied_syscalls"].value("ioctl", 0), 6) << j.dump();
}

TEST(EscapeProc, TioclinuxRefused) {
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_proc", "tioclinux"), "tioclinux");
}

TEST(EscapeProc, HostSysvSharedMemory) {
  key_t key = static_cast<key_t>(0x41480000 | (getpid() & 0xffff));
  int id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0666);
  if (id < 0) GTEST_SKIP() << "shmget on the host: " << strerror(errno);
  std::vector<std::string> params = {"shmkey=" + std::to_string(key)};
  auto in = RunInSandbox("escape_proc", "sysv_ipc", params);
  auto host = RunOnHost("escape_proc", "sysv_ipc", params);
  shmctl(id, IPC_RMID, nullptr);
  EXPECT_PROBE_BLOCKED(in, "sysv_ipc");
  EXPECT_PROBE_ESCAPED(host, "sysv_ipc");
}

TEST(EscapeProc, HostPseudoTerminal) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) GTEST_SKIP() << "no pseudo-terminals here (posix_openpt: " << strerror(errno) << ")";
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  std::string name = ptsname(master);
  std::vector<std::string> params = {"ptsnum=" + name.substr(name.rfind('/') + 1)};
  auto in = RunInSandbox("escape_proc", "host_pts", params);
  auto host = RunOnHost("escape_proc", "host_pts", params);
  close(master);
  EXPECT_PROBE_BLOCKED(in, "host_pts");
  EXPECT_PROBE_ESCAPED(host, "host_pts");
}

TEST(EscapeProc, ForkBombStopsAtPids) {
  auto r = RunInSandbox("escape_proc", "forkbomb", {"forks=500"}, {"--pids", "32"});
  EXPECT_PROBE_BLOCKED(r, "forkbomb");
  auto p = Find(r, "forkbomb");
  EXPECT_EQ(p.detail.rfind("EAGAIN after ", 0), 0u) << p.detail;
}

TEST(EscapeProc, MemoryHogStopsAtMemory) {
  auto r = RunInSandbox("escape_proc", "memhog", {"mb=256"}, {"--memory", "64m"});
  EXPECT_PROBE_BLOCKED(r, "memhog");
}

}  // namespace
