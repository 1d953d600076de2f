// process/spawn.h: capture, caps, stdin, deadline, exit codes, and no descriptor left behind.
#include "process/spawn.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fcntl.h>

#include <chrono>
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
