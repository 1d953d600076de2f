// The engine on a real nats-server (started by the test on a loopback port in a private directory):
// the object store layout, compare-and-set KV, the task id counter, and the work queue's delivery
// rules (redelivery after AckWait, in-progress acks holding work, MaxDeliver -> dead letter).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "service/digest.h"
#include "service/jetstream.h"
#include "service/nats_server.h"
#include "service/worker.h"
#include "support/test_env.h"

namespace airlock::service {
namespace {

using namespace std::chrono_literals;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (FindNatsServer().empty()) GTEST_SKIP() << "nats-server is not installed (scripts/install-deps.sh)";
    dir_ = test::MakeTempDir("engine");
    auto s = NatsServer::Start(NatsServerOptions{dir_ + "/nats"});
    ASSERT_TRUE(s) << s.error().What();
    server_ = std::move(*s);
    cfg_.servers = server_->url();
    cfg_.ack_wait = 1s;
    cfg_.max_deliver = 2;
    engine_ = Connect();
  }
  void TearDown() override {
    engine_.reset();
    server_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  std::unique_ptr<Engine> Connect() {
    auto e = Engine::Connect(cfg_);
    EXPECT_TRUE(e) << e.error().What();
    if (!e) return nullptr;
    auto st = (*e)->EnsureSchema();
    EXPECT_TRUE(st) << st.error().What();
    return std::move(*e);
  }
  std::string dir_;
  std::unique_ptr<NatsServer> server_;
  EngineConfig cfg_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, ObjectsAreChunkedContentChecked) {
  ASSERT_TRUE(engine_);
  std::string big;
  for (size_t i = 0; i < kChunkSize * 3 + 17; ++i) big.push_back(char(i * 31 + (i >> 9)));
  std::string name = Sha256Hex(big);
  ASSERT_TRUE(engine_->PutObject(kSamplesBucket, name, big));
  ASSERT_TRUE(engine_->PutObject(kSamplesBucket, name, big));  // content-addressed: stored once
  auto back = engine_->GetObject(kSamplesBucket, name, big.size());
  ASSERT_TRUE(back) << back.error().What();
  ASSERT_TRUE(*back);
  EXPECT_EQ(**back, big);
  auto too_small = engine_->GetObject(kSamplesBucket, name, big.size() - 1);
  EXPECT_FALSE(too_small) << "a limit below the object's size must refuse it";
  auto absent = engine_->GetObject(kSamplesBucket, Sha256Hex("nothing"), 100);
  ASSERT_TRUE(absent);
  EXPECT_FALSE(*absent);
  ASSERT_TRUE(engine_->PutObject(kSamplesBucket, "empty", ""));
  auto empty = engine_->GetObject(kSamplesBucket, "empty", 10);
  ASSERT_TRUE(empty && *empty);
  EXPECT_EQ(**empty, "");
}

TEST_F(EngineTest, KvCompareAndSet) {
  ASSERT_TRUE(engine_);
  auto c1 = engine_->KvCreate(kResultsBucket, "k", "one");
  ASSERT_TRUE(c1 && *c1);
  auto c2 = engine_->KvCreate(kResultsBucket, "k", "two");
  ASSERT_TRUE(c2) << c2.error().What();
  EXPECT_FALSE(*c2) << "a second create is a conflict";
  auto u_stale = engine_->KvUpdate(kResultsBucket, "k", "x", **c1 + 100);
  ASSERT_TRUE(u_stale) << u_stale.error().What();
  EXPECT_FALSE(*u_stale);
  auto u = engine_->KvUpdate(kResultsBucket, "k", "three", **c1);
  ASSERT_TRUE(u && *u);
  auto g = engine_->KvGet(kResultsBucket, "k");
  ASSERT_TRUE(g && *g);
  EXPECT_EQ((*g)->value, "three");
  ASSERT_TRUE(engine_->KvDelete(kResultsBucket, "k"));
  auto gone = engine_->KvGet(kResultsBucket, "k");
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
}

TEST_F(EngineTest, TaskIdsAreUniqueAcrossConnections) {
  ASSERT_TRUE(engine_);
  auto other = Connect();
  ASSERT_TRUE(other);
  std::vector<uint64_t> a, b;
  std::thread t1([&] { for (int i = 0; i < 40; ++i) if (auto id = engine_->NextTaskId()) a.push_back(*id); });
  std::thread t2([&] { for (int i = 0; i < 40; ++i) if (auto id = other->NextTaskId()) b.push_back(*id); });
  t1.join();
  t2.join();
  std::set<uint64_t> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(a.size() + b.size(), 80u);
  EXPECT_EQ(all.size(), 80u) << "two servers handed out the same task id";
}

TEST_F(EngineTest, UnackedWorkIsRedeliveredThenDeadLettered) {
  ASSERT_TRUE(engine_);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> dead;
  ASSERT_TRUE(engine_->OnDeadLetter([&](const std::string& kind, uint64_t, const std::string& data) {
    std::lock_guard lock(mu);
    dead.push_back(kind + ":" + data);
    cv.notify_all();
  }));
  ASSERT_TRUE(engine_->PublishWork("static", "w1", "id-w1"));
  ASSERT_TRUE(engine_->PublishWork("static", "w1", "id-w1"));  // same Nats-Msg-Id: dropped
  auto m1 = engine_->FetchWork("static", 2s);
  ASSERT_TRUE(m1 && *m1);
  EXPECT_EQ((*m1)->Data(), "w1");
  EXPECT_EQ((*m1)->Deliveries(), 1u);
  auto none = engine_->FetchWork("static", 300ms);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none) << "the duplicate publish was queued, or the message was redelivered early";
  // Not acknowledged: after AckWait (1 s) it comes again.
  auto m2 = engine_->FetchWork("static", 5s);
  ASSERT_TRUE(m2 && *m2);
  EXPECT_EQ((*m2)->Deliveries(), 2u);
  // MaxDeliver is 2: after this AckWait the server gives up (it decides when a worker asks for more
  // work, as workers always do) and the advisory handler dead-letters it; never a third delivery.
  bool seen = false;
  for (int i = 0; i < 20 && !seen; ++i) {
    auto again = engine_->FetchWork("static", 500ms);
    ASSERT_TRUE(again);
    ASSERT_FALSE(*again) << "delivered a third time despite MaxDeliver 2";
    std::unique_lock lock(mu);
    seen = cv.wait_for(lock, 10ms, [&] { return !dead.empty(); });
  }
  ASSERT_TRUE(seen) << "no dead-letter advisory";
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(dead[0], "static:w1");
  }
  for (int i = 0; i < 100; ++i) {
    auto n = engine_->DeadLetters();
    if (n && *n == 1) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(engine_->DeadLetters().value_or(0), 1u);
}

TEST_F(EngineTest, InProgressAcksHoldWorkPastAckWait) {
  ASSERT_TRUE(engine_);
  ASSERT_TRUE(engine_->PublishWork("detonate", "long", "id-long"));
  auto m = engine_->FetchWork("detonate", 2s);
  ASSERT_TRUE(m && *m);
  // 3 x AckWait with a heartbeat every AckWait/4: another fetch must find nothing.
  auto other = Connect();
  ASSERT_TRUE(other);
  for (int i = 0; i < 12; ++i) {
    (*m)->InProgress();
    auto stolen = other->FetchWork("detonate", 250ms);
    ASSERT_TRUE(stolen);
    ASSERT_FALSE(*stolen) << "work was redelivered although its holder sent in-progress acks";
  }
  ASSERT_TRUE((*m)->Ack());
  auto after = other->FetchWork("detonate", 1500ms);
  ASSERT_TRUE(after);
  EXPECT_FALSE(*after) << "acknowledged work came back";
}


// A zero wait takes only what is queued. A worker taking several kinds serves queued work of any kind
// before it waits on an empty one: before, a slot whose turn was the empty detonation queue waited
// there first (half a second per static task, 1.9 static tasks/s instead of 21.7 in
// bench/service/service_bench.py), and its first call here came back empty.
TEST_F(EngineTest, QueuedWorkOfAnyKindIsTakenBeforeWaitingOnAnEmptyKind) {
  ASSERT_TRUE(engine_);
  auto none = engine_->FetchWork("detonate", 0ms);
  ASSERT_TRUE(none) << none.error().What();
  EXPECT_FALSE(*none);
  WorkerConfig wc;
  wc.id = "w-test";
  wc.kinds = {"detonate", "static"};
  wc.work_dir = dir_ + "/work";
  Worker worker(*engine_, wc, Fingerprint{});
  for (const char* id : {"s1", "s2"}) ASSERT_TRUE(engine_->PublishWork("static", id, std::string("id-") + id));
  size_t turn = 0;  // detonate's turn: its queue is empty
  for (const char* id : {"s1", "s2"}) {
    auto m = worker.NextWork(turn);
    ASSERT_TRUE(m) << m.error().What();
    ASSERT_TRUE(*m) << "the slot waited on the empty detonation queue instead of taking queued static work";
    EXPECT_EQ((*m)->Data(), id);
    ASSERT_TRUE((*m)->Ack());
  }
  EXPECT_EQ(turn, 4u) << "each call moves the turn past the kind it served";
  ASSERT_TRUE(engine_->PublishWork("detonate", "d1", "id-d1"));
  auto d = worker.NextWork(turn);
  ASSERT_TRUE(d && *d);
  EXPECT_EQ((*d)->Data(), "d1");
  ASSERT_TRUE((*d)->Ack());
  auto idle = worker.NextWork(turn);
  ASSERT_TRUE(idle);
  EXPECT_FALSE(*idle) << "work came from empty queues";
}


TEST(EngineWatch, AStarvedWatchIsBehindOnTwoIdleProbesInARow) {
  WatchProbe p(10);
  EXPECT_FALSE(p.Starved(10)) << "level with the bucket";
  EXPECT_FALSE(p.Starved(12)) << "behind once: entries may be on their way";
  EXPECT_TRUE(p.Starved(12)) << "behind twice with nothing delivered";
  p.Restarted(12);
  EXPECT_FALSE(p.Starved(13));
  p.Delivered(13);
  EXPECT_FALSE(p.Starved(14)) << "a delivery between probes starts the count again";
  p.Delivered(14);
  EXPECT_FALSE(p.Starved(15));
  EXPECT_TRUE(p.Starved(15));
  EXPECT_EQ(p.delivered(), 14u);
  p.Delivered(3);  // a replayed older entry
  EXPECT_EQ(p.delivered(), 14u);
}

// A watch whose server went away and came back (same port, same store) hears the bucket again: the
// ordered consumer behind it lived only in the server's memory.
TEST(EngineWatch, HearsTheBucketAgainAfterItsServerWasGoneAndCameBack) {
  if (FindNatsServer().empty()) GTEST_SKIP() << "nats-server is not installed (scripts/install-deps.sh)";
  const std::string dir = test::MakeTempDir("watch");
  NatsServerOptions o{dir + "/nats"};
  o.port = test::FreeLoopbackPort();
  auto server = NatsServer::Start(o);
  ASSERT_TRUE(server) << server.error().What();
  EngineConfig cfg;
  cfg.servers = (*server)->url();
  auto e = Engine::Connect(cfg);
  ASSERT_TRUE(e) << e.error().What();
  ASSERT_TRUE((*e)->EnsureSchema());
  struct Heard {
    std::mutex mu;
    std::set<std::string> keys;
    bool Has(const std::string& k) {
      std::lock_guard lock(mu);
      return keys.count(k) > 0;
    }
  };
  auto heard = std::make_shared<Heard>();
  ASSERT_TRUE((*e)->Watch(kResultsBucket, [heard](const std::string& k, const std::optional<std::string>&, uint64_t) {
    std::lock_guard lock(heard->mu);
    heard->keys.insert(k);
  }, [] {}));
  ASSERT_TRUE((*e)->KvPut(kResultsBucket, "before", "x"));
  for (int i = 0; i < 100 && !heard->Has("before"); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(heard->Has("before"));
  (*server)->Kill();
  std::this_thread::sleep_for(3s);  // the client reconnects meanwhile, in vain
  server = NatsServer::Start(o);
  ASSERT_TRUE(server) << server.error().What();
  auto put = (*e)->KvPut(kResultsBucket, "after", "x");
  for (int t = 0; t < 50 && !put; ++t, std::this_thread::sleep_for(200ms)) put = (*e)->KvPut(kResultsBucket, "after", "x");
  ASSERT_TRUE(put) << put.error().What();
  for (int i = 0; i < 300 && !heard->Has("after"); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(heard->Has("after")) << "the watch stopped hearing the bucket";
  e->reset();
  server->reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace airlock::service
