// process/spawn.h: capture, caps, stdin, deadline, exit codes, and no descriptor left behind.
#include "process/spawn.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <set>
#include <sstream>

namespace {

using airlock::process::SpawnAndCapture;
using airlock::process::SpawnOptions;

int OpenFdCount() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n - 1;  // the DIR's own descriptor
}

TEST(Spawn, CapturesStdoutStderrAndStatus) {
  auto r = SpawnAndCapture({"/bin/sh", "-c", "echo out; echo err >&2; exit 7"});
  ASSERT_TRUE(r.has_value()) << r.error().What();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_FALSE(r->timed_out);
}

TEST(Spawn, SignalIs128PlusN) {
  auto r = SpawnAndCapture({"/bin/sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 128 + SIGTERM);
}

TEST(Spawn, NotExecutableExits127) {
  auto r = SpawnAndCapture({"/no/such/program"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 127);
  EXPECT_FALSE(SpawnAndCapture({}).has_value());
}

TEST(Spawn, CapsOutputButDrainsIt) {
  SpawnOptions o;
  o.stdout_cap = 10;
  auto r = SpawnAndCapture({"/bin/sh", "-c", "head -c 1000000 /dev/zero; echo done >&2"}, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->out.size(), 10u);
  EXPECT_EQ(r->err, "done\n");
  EXPECT_EQ(r->exit_code, 0);
}

TEST(Spawn, FeedsStdinAndSurvivesAReaderThatLeaves) {
  SpawnOptions o;
  o.stdin_data = "hello\n";
  auto r = SpawnAndCapture({"/bin/cat"}, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->out, "hello\n");
  o.stdin_data = std::string(8 << 20, 'x');  // more than a pipe holds; the child reads none of it
  r = SpawnAndCapture({"/bin/true"}, o);     // EPIPE, not SIGPIPE in this process
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 0);
  o.stdin_data.reset();  // no stdin: /dev/null
  r = SpawnAndCapture({"/bin/cat"}, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->out, "");
}

TEST(Spawn, KillsAtTheDeadlineAndTicks) {
  SpawnOptions o;
  o.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  int ticks = 0;
  o.on_tick = [&ticks] { ++ticks; };
  o.tick_interval = std::chrono::milliseconds(50);
  auto start = std::chrono::steady_clock::now();
  auto r = SpawnAndCapture({"/bin/sleep", "30"}, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 128 + SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_GE(ticks, 2);
}

TEST(Spawn, DiscardedStreamsAndNoDescriptorLeaks) {
  int before = OpenFdCount();
  SpawnOptions o;
  o.capture_stdout = false;
  o.capture_stderr = false;
  for (int i = 0; i < 20; ++i) {
    auto r = SpawnAndCapture({"/bin/sh", "-c", "echo lost; echo lost >&2"}, o);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->out, "");
    EXPECT_EQ(r->err, "");
  }
  for (int i = 0; i < 20; ++i) (void)SpawnAndCapture({"/no/such/program"});
  EXPECT_EQ(OpenFdCount(), before);
}

// An interrupt descriptor that is readable: the child gets the interrupt signal; one that ignores it
// is killed after the grace. The descriptor is left readable (the caller reads the signal).
TEST(Spawn, InterruptSignalsTheChildThenKillsIt) {
  airlock::UniqueFd ev(eventfd(1, EFD_CLOEXEC));
  ASSERT_TRUE(ev);
  SpawnOptions o;
  o.interrupt_fd = ev.get();
  o.interrupt_grace = std::chrono::milliseconds(200);
  auto r = SpawnAndCapture({"/bin/sleep", "30"}, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->interrupted);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_code, 128 + SIGTERM);

  // SIG_IGN is inherited across exec: this child ignores SIGTERM, so only the SIGKILL ends it.
  struct sigaction ign {}, old {};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGTERM, &ign, &old);
  r = SpawnAndCapture({"/bin/sleep", "30"}, o);
  sigaction(SIGTERM, &old, nullptr);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->interrupted);
  EXPECT_EQ(r->exit_code, 128 + SIGKILL);
  uint64_t n = 0;
  EXPECT_EQ(read(ev.get(), &n, sizeof n), static_cast<ssize_t>(sizeof n)) << "the descriptor was consumed";
}

// True when `pid` is gone or a zombie (dead, waiting for its new parent to reap it).
bool Dead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

// The pid of a `sleep 30` started by SpawnAndCapture in a process of ours that is then SIGKILLed.
pid_t OrphanOfAKilledCaller(bool kill_with_caller, const std::string& pidfile) {
  pid_t caller = fork();
  if (caller == 0) {
    SpawnOptions o;
    o.kill_with_caller = kill_with_caller;
    (void)SpawnAndCapture({"/bin/sh", "-c", "echo $$ > " + pidfile + ".tmp; mv " + pidfile + ".tmp " + pidfile + "; exec sleep 30"}, o);
    _exit(0);
  }
  pid_t child = 0;
  for (int i = 0; i < 1000 && child == 0; ++i) {
    std::ifstream f(pidfile);
    if (!(f >> child)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(caller, SIGKILL);
  waitpid(caller, nullptr, 0);
  return child;
}

TEST(Spawn, KillWithCallerLeavesNoOrphan) {
  char dir[] = "/tmp/spawn-orphan.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  pid_t child = OrphanOfAKilledCaller(true, std::string(dir) + "/with");
  ASSERT_GT(child, 0);
  bool dead = false;
  for (int i = 0; i < 500 && !(dead = Dead(child)); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(dead) << "pid " << child << " outlived its caller";
  if (!dead) kill(child, SIGKILL);
  // Control: without it, the child outlives the caller (so the check above can fail).
  pid_t orphan = OrphanOfAKilledCaller(false, std::string(dir) + "/without");
  ASSERT_GT(orphan, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(Dead(orphan));
  kill(orphan, SIGKILL);
  std::filesystem::remove_all(dir);
}

// What we open is O_CLOEXEC: the child sees none of it (here: a pipe of ours, moved to 100 and 101 so
// that no descriptor of the child's own can take the same numbers).
TEST(Spawn, ChildInheritsNoneOfOurDescriptors) {
  auto p = airlock::process::MakePipe();
  ASSERT_TRUE(p.has_value());
  airlock::UniqueFd hi_read(fcntl(p->read.get(), F_DUPFD_CLOEXEC, 100)), hi_write(fcntl(p->write.get(), F_DUPFD_CLOEXEC, 101));
  ASSERT_EQ(hi_read.get(), 100);
  ASSERT_EQ(hi_write.get(), 101);
  auto r = SpawnAndCapture({"/bin/ls", "/proc/self/fd"});
  ASSERT_TRUE(r.has_value());
  std::set<std::string> fds;
  std::istringstream in(r->out);
  for (std::string line; std::getline(in, line);) fds.insert(line);
  for (const char* fd : {"0", "1", "2"}) EXPECT_TRUE(fds.count(fd)) << r->out;
  for (const char* fd : {"100", "101"}) EXPECT_FALSE(fds.count(fd)) << fd << " leaked:\n" << r->out;
}

}  // namespace
