// Escape tier, resource probes: terminal tampering (tests/helpers/escape_tty.c). The test is the
// caller's terminal emulator: it opens a pty pair of its own and runs `airlock run` with the slave as its
// controlling terminal and stdio, as a shell would. Inside, the attacker clears ECHO and ICANON, sets
// O_NONBLOCK on its stdio, sets TIOCEXCL, tries TIOCSTI and changes the window size; the test types
// input, resizes the window and presses Ctrl-C through the master. With the sandbox's own terminal
// (the default) the caller's terminal comes out exactly as it went in, while input, window size,
// Ctrl-C and the whole output (a tail written just before exit, while our output is suspended) go through the relay. The
// control is the same run with --host-terminal (the payload holds the caller's terminal itself): every
// tampering is then seen on the caller's terminal, so each check can fail.
// Cold and warm (a pool of this test's own); root and user (the tier runs every test as both).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "escape_util.h"

using airlock::test::AirlockBin;
using airlock::test::HelperDir;
using airlock::test::MakeTempDir;
using airlock::test::ReadFileOrEmpty;
using airlock::test::WriteFile;

namespace {

// escape_tty's filler (80-byte lines), written right before it exits while our terminal's output is
// suspended (TCOOFF): the relay is stuck in its first write, so the rest waits in airlock's pty when
// the sandbox ends, and only airlock's drain after the end can bring it. Less than a pty holds
// (~15 KiB of lines here), so the payload is not blocked and ends meanwhile.
constexpr long kTailBytes = 8 * 1024;
constexpr unsigned short kRows = 24, kCols = 80, kNewRows = 33, kNewCols = 77;

// What the test can see of its terminal (the slave it handed to airlock).
struct TtyState {
  termios modes{};
  int flags = 0;     // of the open file description airlock's stdio shares with us
  int excl = -1;     // TIOCGEXCL
  winsize ws{};
  int pending = -1;  // bytes waiting in the input queue (an injected character would be one)
};

TtyState Snapshot(int fd) {
  TtyState s;
  tcgetattr(fd, &s.modes);
  s.flags = fcntl(fd, F_GETFL);
  ioctl(fd, TIOCGEXCL, &s.excl);
  ioctl(fd, TIOCGWINSZ, &s.ws);
  ioctl(fd, FIONREAD, &s.pending);
  return s;
}

bool SameModes(const termios& a, const termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag && a.c_lflag == b.c_lflag &&
         std::memcmp(a.c_cc, b.c_cc, sizeof a.c_cc) == 0;
}

// A pty pair and the process that runs on its slave; everything bounded (a stuck run is killed).
class PtyDriver {
 public:
  ~PtyDriver() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (slave_ >= 0) close(slave_);
    if (master_ >= 0) close(master_);
  }
  // A fresh pty in the default (cooked) modes with a known window size; "" or why not.
  std::string Open() {
    master_ = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master_ < 0 || grantpt(master_) != 0 || unlockpt(master_) != 0) return std::string("posix_openpt: ") + strerror(errno);
    slave_ = open(ptsname(master_), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave_ < 0) return std::string("open the slave: ") + strerror(errno);
    winsize ws{kRows, kCols, 0, 0};
    ioctl(master_, TIOCSWINSZ, &ws);
    fcntl(master_, F_SETFL, O_NONBLOCK);
    return "";
  }
  int master() const { return master_; }
  int slave() const { return slave_; }
  const std::string& out() const { return out_; }

  // Runs argv in a new session whose controlling terminal and stdio are our slave (the same open
  // file description as slave(), so O_NONBLOCK set through stdio shows here).
  void Spawn(const std::vector<std::string>& argv) {
    pid_ = fork();
    if (pid_ == 0) {
      setsid();
      ioctl(slave_, TIOCSCTTY, 0);
      for (int fd = 0; fd < 3; ++fd) dup2(slave_, fd);
      std::vector<char*> a;
      for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
  }
  // Reads until `marker` appears after what was already matched (true), the process ends or ~30 s pass.
  bool WaitFor(const std::string& marker) {
    for (int i = 0; i < 3000; ++i) {
      size_t at = out_.find(marker, seen_);
      if (at != std::string::npos) {
        seen_ = at + marker.size();
        return true;
      }
      if (!ReadSome(10) && Exited()) return out_.find(marker, seen_) != std::string::npos;
    }
    return false;
  }
  void Type(const std::string& bytes) { ASSERT_EQ(write(master_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size())); }
  // Reads until the process exits (at most ~60 s, then it is killed) and drains the pty; exit code.
  int WaitExit() {
    for (int i = 0; i < 6000 && !Exited(); ++i) ReadSome(10);
    if (!Exited()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
      pid_ = -1;
    }
    while (ReadSome(0)) {
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }

 private:
  bool ReadSome(int timeout_ms) {
    pollfd p{master_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0 || !(p.revents & POLLIN)) return false;
    char buf[8192];
    ssize_t n = read(master_, buf, sizeof buf);
    if (n <= 0) return false;
    out_.append(buf, static_cast<size_t>(n));
    return true;
  }
  bool Exited() {
    if (pid_ > 0 && waitpid(pid_, &status_, WNOHANG) == pid_) pid_ = -1;
    return pid_ < 0;
  }

  int master_ = -1, slave_ = -1;
  pid_t pid_ = -1;
  int status_ = 0;
  std::string out_;
  size_t seen_ = 0;
};

struct Session {
  std::string error;  // the run could not be driven (then nothing else is meaningful)
  int exit_code = -1;
  std::string out;
  TtyState before, at_ready, after;
  nlohmann::json report;
};

size_t Count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + needle.size())) ++n;
  return n;
}

class EscapeTerminal : public ::testing::Test {
 protected:
  void SetUp() override {
    int probe = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (probe < 0) GTEST_SKIP() << "no pseudo-terminals here (posix_openpt: " << strerror(errno) << ")";
    close(probe);
    dir_ = MakeTempDir("escape-tty");
    chmod(dir_.c_str(), 0700);
    profile_ = dir_ + "/tty.toml";
    WriteFile(profile_, "include = [\"default\"]\n[[mount]]\ntype = \"ro-bind\"\nsrc = \"" + HelperDir() +
                            "\"\ndst = \"/helpers\"\n");
  }
  void TearDown() override {
    if (pool_ > 0) {
      kill(pool_, SIGTERM);
      waitpid(pool_, nullptr, 0);
    }
    for (const char* f : {"/tty.toml", "/pool.log", "/report.json"}) unlink((dir_ + f).c_str());
    rmdir(dir_.c_str());
  }

  // `airlock pool` for the profile above, with two sandboxes ready.
  void StartPool() {
    socket_ = dir_ + "/pool.sock";
    std::string log = dir_ + "/pool.log";
    pool_ = fork();
    if (pool_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      int null = open("/dev/null", O_RDONLY);
      dup2(null, 0);
      std::string bin = AirlockBin();
      execl(bin.c_str(), "airlock", "pool", "-v", "--profile", profile_.c_str(), "--socket", socket_.c_str(), "--size",
            "2", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 1000 && Count(ReadFileOrEmpty(log), "ready after") < 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GE(Count(ReadFileOrEmpty(log), "ready after"), 2u) << ReadFileOrEmpty(log);
  }

  // One run of the attacker under a fresh pty: type, resize, Ctrl-C, as described at the top.
  Session Drive(bool warm, bool host_terminal) {
    Session s;
    PtyDriver pty;
    if (s.error = pty.Open(); !s.error.empty()) return s;
    s.before = Snapshot(pty.slave());
    std::string report = dir_ + "/report.json";
    unlink(report.c_str());
    std::vector<std::string> argv = {AirlockBin(), "run", "--profile", profile_, "--pool", warm ? "required" : "off",
                                     "--report", report};
    if (host_terminal) argv.push_back("--host-terminal");
    argv.insert(argv.end(), {"--", "/helpers/escape_tty", "tamper",
                             "winch=" + std::to_string(kNewRows) + "x" + std::to_string(kNewCols),
                             "tail=" + std::to_string(kTailBytes)});
    if (warm) setenv("AIRLOCK_POOL_SOCKET", socket_.c_str(), 1);
    pty.Spawn(argv);
    if (warm) unsetenv("AIRLOCK_POOL_SOCKET");
    auto fail = [&](const std::string& what) {
      s.exit_code = pty.WaitExit();
      s.out = pty.out();
      s.error = what;
      return s;
    };
    if (!pty.WaitFor("READY")) return fail("no READY");
    s.at_ready = Snapshot(pty.slave());
    pty.Type("ping");
    if (!pty.WaitFor("GOT ")) return fail("no GOT");
    winsize ws{kNewRows, kNewCols, 0, 0};
    ioctl(pty.master(), TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH to airlock, our foreground
    if (!pty.WaitFor("WAITINT")) return fail("no WAITINT");
    // Output suspended for a moment, so the tail piles up (see kTailBytes). No assertion depends on
    // how long: a payload slower than this only makes the drain check weaker, never wrong.
    tcflow(pty.slave(), TCOOFF);
    pty.Type("\x03");  // Ctrl-C
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    tcflow(pty.slave(), TCOON);
    s.exit_code = pty.WaitExit();
    s.out = pty.out();
    s.after = Snapshot(pty.slave());
    s.report = nlohmann::json::parse(ReadFileOrEmpty(report), nullptr, false);
    return s;
  }

  // The run with the sandbox's own terminal: nothing reached ours, everything was relayed.
  void ExpectUntouched(const Session& s) {
    ASSERT_EQ(s.error, "") << s.out;
    // The attacker did change its own terminal: the probe ran.
    for (const char* what : {"echo_off", "nonblock", "excl", "winsize"}) {
      EXPECT_NE(s.out.find(std::string("DID ") + what + " 0 OK"), std::string::npos) << what << "\n" << s.out;
    }
    EXPECT_TRUE(SameModes(s.after.modes, s.before.modes)) << "terminal modes changed (echo/icanon)";
    EXPECT_EQ(s.after.modes.c_lflag & (ECHO | ICANON), s.before.modes.c_lflag & (ECHO | ICANON));
    EXPECT_EQ(s.at_ready.flags & O_NONBLOCK, 0) << "O_NONBLOCK reached the caller's open file description";
    EXPECT_EQ(s.after.flags, s.before.flags) << "file status flags changed";
    EXPECT_EQ(s.at_ready.excl, 0) << "TIOCEXCL reached the caller's terminal";
    EXPECT_EQ(s.after.excl, 0);
    EXPECT_EQ(s.at_ready.ws.ws_row, kRows) << "the attacker's window size reached the caller's terminal";
    EXPECT_EQ(s.at_ready.ws.ws_col, kCols);
    EXPECT_EQ(s.after.pending, 0) << "a character was injected into the caller's terminal";
    // Relayed: window size at start and on SIGWINCH, input, Ctrl-C, the whole tail.
    EXPECT_NE(s.out.find("SIZE 24 80"), std::string::npos) << s.out;
    EXPECT_NE(s.out.find("GOT ping"), std::string::npos) << s.out;
    EXPECT_NE(s.out.find("WINCH 33 77"), std::string::npos) << s.out;
    EXPECT_NE(s.out.find("\nSIGINT"), std::string::npos) << s.out;
    EXPECT_EQ(Count(s.out, std::string(79, 'x')), static_cast<size_t>((kTailBytes + 79) / 80)) << "output lost";
    EXPECT_NE(s.out.find("TAIL-END"), std::string::npos) << s.out.substr(s.out.size() > 400 ? s.out.size() - 400 : 0);
    EXPECT_EQ(s.exit_code, 0) << s.out;
    ASSERT_TRUE(s.report.is_object()) << s.out;
    bool layer = false;
    for (const auto& l : s.report["layers"]) layer = layer || (l.value("name", "") == "private-terminal" && l.value("engaged", false));
    EXPECT_TRUE(layer) << s.report.dump();
  }

  // The control (--host-terminal): each tampering shows on the caller's terminal.
  void ExpectTampered(const Session& s) {
    ASSERT_EQ(s.error, "") << s.out;
    EXPECT_FALSE(SameModes(s.after.modes, s.before.modes)) << "control: the modes check cannot fail";
    EXPECT_NE(s.at_ready.flags & O_NONBLOCK, 0) << "control: the O_NONBLOCK check cannot fail";
    EXPECT_EQ(s.after.excl, 1) << "control: the TIOCEXCL check cannot fail";
    EXPECT_EQ(s.at_ready.ws.ws_row, 11) << "control: the window size check cannot fail";
    EXPECT_NE(s.out.find("TAIL-END"), std::string::npos) << s.out;
    ASSERT_TRUE(s.report.is_object()) << s.out;
    EXPECT_NE(s.report["weakenings"].dump().find("host_terminal"), std::string::npos) << s.report.dump();
  }

  std::string dir_, profile_, socket_;
  pid_t pool_ = -1;
};

TEST_F(EscapeTerminal, TamperingStaysInsideCold) {
  ExpectUntouched(Drive(/*warm=*/false, /*host_terminal=*/false));
  ExpectTampered(Drive(/*warm=*/false, /*host_terminal=*/true));
}

TEST_F(EscapeTerminal, TamperingStaysInsideWarm) {
  StartPool();
  ExpectUntouched(Drive(/*warm=*/true, /*host_terminal=*/false));
  ExpectTampered(Drive(/*warm=*/true, /*host_terminal=*/true));
}

// Line editing and EOF come from the sandbox's own line discipline: `cat` echoes a typed line, gets
// Ctrl-D as end of file and exits 0; the caller's terminal is as it was.
TEST_F(EscapeTerminal, EchoAndEofThroughThePty) {
  PtyDriver pty;
  ASSERT_EQ(pty.Open(), "");
  TtyState before = Snapshot(pty.slave());
  pty.Spawn({AirlockBin(), "run", "--pool", "off", "--", "/bin/sh", "-c", "echo START; exec cat"});
  ASSERT_TRUE(pty.WaitFor("START")) << pty.out();
  pty.Type("hello\r");
  ASSERT_TRUE(pty.WaitFor("hello\r\nhello\r\n")) << pty.out();  // the echo, then cat's copy
  pty.Type("\x04");
  EXPECT_EQ(pty.WaitExit(), 0) << pty.out();
  EXPECT_TRUE(SameModes(Snapshot(pty.slave()).modes, before.modes));
}

}  // namespace
