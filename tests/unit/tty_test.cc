// src/tty: the caller's terminal state saved and put back, and the relay of the sandbox's own pty, on
// real pseudo-terminals (no sandbox: tests/escape/escape_terminal_test.cc runs the real binary). The
// relay takes fds 0-2, so it runs in a forked child whose stdio is a pty of the test's.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "tty/host_terminal.h"
#include "tty/pty_relay.h"

using namespace airlock;

namespace {

struct Pty {
  int master = -1, slave = -1;
  Pty() {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0) {
      slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    }
  }
  ~Pty() {
    if (slave >= 0) close(slave);
    if (master >= 0) close(master);
  }
  bool ok() const { return slave >= 0; }
};

// Everything readable on fd within ~5 s, until `until` shows up.
std::string ReadUntil(int fd, const std::string& until) {
  std::string out;
  for (int i = 0; i < 500 && out.find(until) == std::string::npos; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10) <= 0) continue;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

TEST(HostTerminal, RestoresModesFlagsAndExclusive) {
  Pty pty;
  if (!pty.ok()) GTEST_SKIP() << "no pseudo-terminals here";
  auto saved = HostTerminalState::Save(pty.slave);
  ASSERT_TRUE(saved.has_value());
  termios before{};
  ASSERT_EQ(tcgetattr(pty.slave, &before), 0);
  const int flags_before = fcntl(pty.slave, F_GETFL);

  termios raw = before;
  cfmakeraw(&raw);
  ASSERT_EQ(tcsetattr(pty.slave, TCSANOW, &raw), 0);
  ASSERT_EQ(fcntl(pty.slave, F_SETFL, flags_before | O_NONBLOCK), 0);
  ASSERT_EQ(ioctl(pty.slave, TIOCEXCL), 0);
  termios now{};
  tcgetattr(pty.slave, &now);
  ASSERT_FALSE(SameModes(now, before)) << "the change did not take: the check below could not fail";

  saved->Restore();
  tcgetattr(pty.slave, &now);
  EXPECT_TRUE(SameModes(now, before));
  EXPECT_EQ(fcntl(pty.slave, F_GETFL), flags_before);
  int excl = -1;
  ASSERT_EQ(ioctl(pty.slave, TIOCGEXCL, &excl), 0);
  EXPECT_EQ(excl, 0);
}

TEST(HostTerminal, NotATerminal) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  EXPECT_FALSE(HostTerminalState::Save(p[0]).has_value());
  close(p[0]);
  close(p[1]);
}

TEST(PtyRelay, StdioMask) {
  StdioTerminal t;
  EXPECT_EQ(StdioTerminalMask(t), 0u);  // no slave: nothing replaced whatever the flags say
  t.replace[0] = t.replace[2] = true;
  EXPECT_EQ(StdioTerminalMask(t), 0u);
  t.slave = 9;
  EXPECT_EQ(StdioTerminalMask(t), 5u);
}

// In a child whose stdio is our pty A: the relay opens pty B, puts A in raw mode while it runs,
// relays B's output to A (all of it, also what was written just before Finish) and A's input to B,
// and restores A's modes. The child reports by exit code (0 = all good).
TEST(PtyRelay, RelaysBothWaysAndRestores) {
  Pty a;
  if (!a.ok()) GTEST_SKIP() << "no pseudo-terminals here";
  termios before{};
  tcgetattr(a.slave, &before);
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    ioctl(a.slave, TIOCSCTTY, 0);
    for (int fd = 0; fd < 3; ++fd) dup2(a.slave, fd);
    auto relay = PtyRelay::OpenFromParent();
    if (!relay || !*relay) _exit(10);
    StdioTerminal t = (*relay)->stdio();
    if (t.slave < 0 || !t.replace[0] || !t.replace[1] || !t.replace[2]) _exit(11);
    int b = fcntl(t.slave, F_DUPFD_CLOEXEC, 3);  // the payload's end (the relay drops its own)
    (*relay)->ReleaseSlave();
    if (!(*relay)->Start()) _exit(12);
    termios now{};
    tcgetattr(0, &now);
    if (now.c_lflag & (ICANON | ECHO | ISIG)) _exit(13);  // raw while relaying
    termios braw{};
    tcgetattr(b, &braw);
    cfmakeraw(&braw);
    tcsetattr(b, TCSANOW, &braw);
    if (write(b, "ready\n", 6) != 6) _exit(14);
    char in[4] = {0};
    for (int got = 0, i = 0; got < 3 && i < 500; ++i) {  // "abc" typed at A arrives on B
      pollfd p{b, POLLIN, 0};
      ssize_t n = poll(&p, 1, 10) == 1 ? read(b, in + got, 3 - got) : 0;
      if (n > 0) got += static_cast<int>(n);
    }
    if (std::strcmp(in, "abc") != 0) _exit(15);
    std::string tail(6000, 'x');
    tail += "END\n";
    if (write(b, tail.data(), tail.size()) != static_cast<ssize_t>(tail.size())) _exit(16);
    close(b);
    (*relay)->Finish();  // drains the tail
    _exit(0);
  }
  std::string out = ReadUntil(a.master, "ready");
  ASSERT_NE(out.find("ready"), std::string::npos) << out;
  ASSERT_EQ(write(a.master, "abc", 3), 3);
  out += ReadUntil(a.master, "END");
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child step " << WEXITSTATUS(status);
  EXPECT_NE(out.find(std::string(6000, 'x') + "END"), std::string::npos) << "tail lost: " << out.size() << " bytes";
  termios after{};
  tcgetattr(a.slave, &after);
  EXPECT_TRUE(SameModes(after, before)) << "A left in raw mode";
}
