// The milter's worker pool (src/milter/worker_pool.h) around fake workers (fake_worker.h): start-up
// checks, a worker that crashes, answers garbage or overruns is killed and respawned and only that
// call fails; a worker found dead while idle is replaced before it gets a message; a full queue is
// refused at once (back-pressure).
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <thread>

#include "fake_worker.h"
#include "milter/worker_pool.h"
#include "test_env.h"

namespace airlock::milter {
namespace {

using nlohmann::json;
using test::FakeWorkerArgv;
using Clock = std::chrono::steady_clock;

Deadline In(int ms) { return Clock::now() + std::chrono::milliseconds(ms); }

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Waits (bounded) for a condition that another process brings about.
template <typename F>
bool WaitFor(F cond, int ms = 5000) {
  auto until = In(ms);
  while (Clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

// 'Z' when pid has exited and not yet been reaped by the pool.
char ProcState(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  std::getline(f, s);
  size_t p = s.rfind(')');
  return p == std::string::npos || p + 2 >= s.size() ? '?' : s[p + 2];
}

class WorkerPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = airlock::test::MakeTempDir("milter-pool"); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_F(WorkerPoolTest, StartsEveryWorkerAndEchoes) {
  WorkerPool pool(FakeWorkerArgv("serve"), 2, 4);
  ASSERT_TRUE(pool.Start(std::chrono::seconds(10)));
  auto pids = pool.Pids();
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_GT(pids[0], 0);
  EXPECT_GT(pids[1], 0);
  EXPECT_NE(pids[0], pids[1]);
  std::string payload("binary\0payload\xff", 15);
  CallResult r = pool.Call(R"({"op": "echo", "n": 7})", payload, In(5000));
  ASSERT_EQ(r.error, CallError::kNone) << r.detail;
  EXPECT_EQ(r.reply.payload, payload);
  EXPECT_EQ(json::parse(r.reply.header)["echo"]["n"], 7);
  EXPECT_GE(r.worker_ms, 0);
  EXPECT_EQ(pool.respawns(), 0u);
}

TEST_F(WorkerPoolTest, StartFailsWhenAWorkerIsNotReady) {
  WorkerPool pool(FakeWorkerArgv("not-ready"), 1, 1);
  auto s = pool.Start(std::chrono::seconds(10));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().What().find("rules did not load"), std::string::npos) << s.error().What();
}

TEST_F(WorkerPoolTest, StartFailsWhenAWorkerExitsWithoutAFrame) {
  WorkerPool pool(FakeWorkerArgv("exit"), 1, 1);
  auto s = pool.Start(std::chrono::seconds(10));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().What().find("did not start"), std::string::npos) << s.error().What();
}

TEST_F(WorkerPoolTest, StartTimesOutOnASilentWorker) {
  // `sleep` never writes a ready frame.
  WorkerPool pool({"/bin/sleep", "30"}, 1, 1);
  auto t0 = Clock::now();
  auto s = pool.Start(std::chrono::milliseconds(300));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().err(), ETIMEDOUT) << s.error().What();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(WorkerPoolTest, ACrashDuringACallFailsThatCallAndRespawns) {
  WorkerPool pool(FakeWorkerArgv("serve"), 1, 1);
  ASSERT_TRUE(pool.Start(std::chrono::seconds(10)));
  pid_t before = pool.Pids()[0];
  CallResult r = pool.Call(R"({"crash": 1})", "", In(5000));
  EXPECT_EQ(r.error, CallError::kWorkerDied) << r.detail;
  EXPECT_EQ(pool.respawns(), 1u);
  pid_t after = pool.Pids()[0];
  EXPECT_GT(after, 0);
  EXPECT_NE(after, before);
  EXPECT_NE(::kill(before, 0), 0) << "the crashed worker was reaped";
  CallResult next = pool.Call(R"({"op": "echo"})", "again", In(5000));
  EXPECT_EQ(next.error, CallError::kNone) << next.detail;
  EXPECT_EQ(next.reply.payload, "again");
}

TEST_F(WorkerPoolTest, GarbageFromAWorkerIsTreatedAsItsDeath) {
  WorkerPool pool(FakeWorkerArgv("serve"), 1, 1);
  ASSERT_TRUE(pool.Start(std::chrono::seconds(10)));
  CallResult r = pool.Call(R"({"garbage": true})", "", In(5000));
  EXPECT_EQ(r.error, CallError::kWorkerDied) << r.detail;
  EXPECT_EQ(pool.respawns(), 1u);
  EXPECT_EQ(pool.Call(R"({})", "ok", In(5000)).error, CallError::kNone);
}

TEST_F(WorkerPoolTest, AnOverrunningWorkerIsKilledAtTheDeadline) {
  WorkerPool pool(FakeWorkerArgv("serve"), 1, 1);
  ASSERT_TRUE(pool.Start(std::chrono::seconds(10)));
  pid_t before = pool.Pids()[0];
  auto t0 = Clock::now();
  CallResult r = pool.Call(R"({"sleep_ms": 20000})", "", In(300));
  EXPECT_EQ(r.error, CallError::kTimeout) << r.detail;
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5)) << "the call returns at its deadline, not the worker's";
  EXPECT_NE(pool.Pids()[0], before);
  EXPECT_EQ(pool.respawns(), 1u);
  EXPECT_EQ(pool.Call(R"({})", "x", In(5000)).error, CallError::kNone);
}

TEST_F(WorkerPoolTest, AWorkerDeadWhileIdleIsReplacedBeforeTheMessage) {
  std::string counter = dir_ + "/started";
  WorkerPool pool(FakeWorkerArgv("die-when-idle", counter), 1, 1);
  ASSERT_TRUE(pool.Start(std::chrono::seconds(10)));
  pid_t first = pool.Pids()[0];
  ASSERT_TRUE(WaitFor([&] { return ProcState(first) == 'Z'; })) << "the first worker exits after its ready frame";
  CallResult r = pool.Call(R"({"op": "echo"})", "message", In(5000));
  EXPECT_EQ(r.error, CallError::kNone) << r.detail << ": the message must not pay for a worker that died idle";
  EXPECT_EQ(r.reply.payload, "message");
  EXPECT_EQ(pool.respawns(), 1u);
  EXPECT_NE(pool.Pids()[0], first);
}

TEST_F(WorkerPoolTest, AFullQueueIsRefusedAtOnce) {
  WorkerPool pool(FakeWorkerArgv("serve"), 1, 1);
  ASSERT_TRUE(pool.Start(std::chrono::seconds(10)));
  std::string busy = dir_ + "/busy";
  json slow = {{"touch", busy}, {"sleep_ms", 3000}};
  auto first = std::async(std::launch::async, [&] { return pool.Call(slow.dump(), "", In(10000)); });
  ASSERT_TRUE(WaitFor([&] { return Exists(busy); })) << "the worker never got the first call";
  // The one queue place: this caller waits for the worker (it retries if a probe below held the place
  // for the instant of its own check).
  auto queued = std::async(std::launch::async, [&] {
    CallResult r;
    do r = pool.Call(R"({})", "second", In(10000));
    while (r.error == CallError::kOverloaded);
    return r;
  });
  // Probes with a deadline already past never wait: timeout while the queue place is free, refused
  // (overloaded) once the second caller holds it.
  CallResult third;
  ASSERT_TRUE(WaitFor([&] {
    third = pool.Call(R"({})", "third", Clock::now());
    return third.error == CallError::kOverloaded;
  }, 2500)) << "got " << CallErrorName(third.error);
  EXPECT_NE(third.detail.find("1 workers busy and 1 messages queued"), std::string::npos) << third.detail;
  CallResult f = first.get();
  EXPECT_EQ(f.error, CallError::kNone) << f.detail;
  CallResult q = queued.get();
  EXPECT_EQ(q.error, CallError::kNone) << q.detail;
  EXPECT_EQ(q.reply.payload, "second");
  EXPECT_GT(q.queued_ms, 100) << "it waited for the busy worker";
}

TEST_F(WorkerPoolTest, NoQueueMeansOverloadedWhileTheWorkerIsBusy) {
  WorkerPool pool(FakeWorkerArgv("serve"), 1, 0);
  ASSERT_TRUE(pool.Start(std::chrono::seconds(10)));
  std::string busy = dir_ + "/busy";
  json slow = {{"touch", busy}, {"sleep_ms", 800}};
  auto first = std::async(std::launch::async, [&] { return pool.Call(slow.dump(), "", In(10000)); });
  ASSERT_TRUE(WaitFor([&] { return Exists(busy); }));
  auto t0 = Clock::now();
  CallResult r = pool.Call(R"({})", "", In(10000));
  EXPECT_EQ(r.error, CallError::kOverloaded);
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(500)) << "refused at once, not after waiting";
  EXPECT_EQ(first.get().error, CallError::kNone);
}

TEST_F(WorkerPoolTest, AQueuedCallGivesUpAtItsDeadline) {
  WorkerPool pool(FakeWorkerArgv("serve"), 1, 4);
  ASSERT_TRUE(pool.Start(std::chrono::seconds(10)));
  std::string busy = dir_ + "/busy";
  json slow = {{"touch", busy}, {"sleep_ms", 1500}};
  auto first = std::async(std::launch::async, [&] { return pool.Call(slow.dump(), "", In(10000)); });
  ASSERT_TRUE(WaitFor([&] { return Exists(busy); }));
  CallResult r = pool.Call(R"({})", "", In(200));
  EXPECT_EQ(r.error, CallError::kTimeout);
  EXPECT_EQ(r.detail, "no worker became free within the budget");
  EXPECT_EQ(first.get().error, CallError::kNone);
  EXPECT_EQ(pool.respawns(), 0u) << "the waiting call did not touch the busy worker";
}

TEST_F(WorkerPoolTest, StopKillsAndReapsTheWorkers) {
  WorkerPool pool(FakeWorkerArgv("serve"), 2, 1);
  ASSERT_TRUE(pool.Start(std::chrono::seconds(10)));
  auto pids = pool.Pids();
  pool.Stop();
  for (pid_t p : pids) EXPECT_NE(::kill(p, 0), 0) << p << " still exists";
  for (pid_t p : pool.Pids()) EXPECT_EQ(p, 0);
}

TEST(CallErrorName, Names) {
  EXPECT_STREQ(CallErrorName(CallError::kNone), "none");
  EXPECT_STREQ(CallErrorName(CallError::kOverloaded), "overloaded");
  EXPECT_STREQ(CallErrorName(CallError::kTimeout), "timeout");
  EXPECT_STREQ(CallErrorName(CallError::kWorkerDied), "worker died");
  EXPECT_STREQ(CallErrorName(CallError::kInternal), "internal error");
}

}  // namespace
}  // namespace airlock::milter
