// The farm, not `--local`: a 3-node NATS JetStream cluster, `airlock serve` pointed at it, and workers
// on "nodes" of their own (each in a network namespace that reaches the cluster only over a veth on a
// host bridge). A worker and a NATS node are killed with SIGKILL mid-run: every submission finishes
// with exactly one result per analysis, none lost, none doubled, no dead letter.
// Root only (the nodes' network is built with veth pairs on a bridge); as a user it skips, saying so.
// AIRLOCK_FARM_SUBMISSIONS=N sets the number of submissions (default 40; bench/service runs 1,000).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "service/api_client.h"
#include "service/nats_server.h"
#include "support/test_env.h"

namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace test = airlock::test;
namespace service = airlock::service;

// A host bridge with an address (where the NATS nodes listen) and one network namespace per node,
// joined to the bridge by a veth pair. A node reaches the bridge's address and nothing else of the host
// (no route beyond the bridge's subnet). Everything is deleted by the destructor.
class NodeNetwork {
 public:
  explicit NodeNetwork(int nodes) {
    const std::string id = std::to_string(getpid());
    subnet_ = "10.213." + std::to_string(20 + getpid() % 200) + ".";
    bridge_ = "alfb" + id;
    ok_ = Ip({"link", "add", bridge_, "type", "bridge"}) && Ip({"addr", "add", host_ip() + "/24", "dev", bridge_}) &&
          Ip({"link", "set", bridge_, "up"});
    for (int i = 0; ok_ && i < nodes; ++i) {
      std::string ns = "airlock-farm-" + id + "-" + std::to_string(i), veth = "alfv" + id + "n" + std::to_string(i);
      namespaces_.push_back(ns);
      std::string addr = subnet_ + std::to_string(2 + i) + "/24";
      ok_ = Ip({"netns", "add", ns}) && Ip({"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns}) &&
            Ip({"link", "set", veth, "master", bridge_, "up"}) && Ip({"-n", ns, "addr", "add", addr, "dev", "eth0"}) &&
            Ip({"-n", ns, "link", "set", "eth0", "up"}) && Ip({"-n", ns, "link", "set", "lo", "up"});
    }
  }
  ~NodeNetwork() {
    for (const auto& ns : namespaces_) Ip({"netns", "del", ns});  // its veth goes with it
    Ip({"link", "del", bridge_});
  }
  // iproute2's `ip` (SpawnLogged does not search PATH), "" when it is not installed.
  static std::string IpBin() {
    for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
      if (access(p, X_OK) == 0) return p;
    }
    return "";
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  std::string host_ip() const { return subnet_ + "1"; }
  // argv run on node i (`ip netns exec` execs it: the pid is the program's).
  std::vector<std::string> On(int i, std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {IpBin(), "netns", "exec", namespaces_[size_t(i)]});
    return argv;
  }

 private:
  bool Ip(std::vector<std::string> args) {
    args.insert(args.begin(), IpBin());
    auto r = test::Run(args);
    if (r.exit_code != 0 && error_.empty()) error_ = "ip " + args[1] + " " + args[2] + ": " + r.err;
    return r.exit_code == 0;
  }
  std::string subnet_, bridge_, error_;
  std::vector<std::string> namespaces_;
  bool ok_ = false;
};

// The processes a test started, stopped (SIGTERM, then SIGKILL) and reaped however the test ends.
struct Started {
  std::vector<pid_t> pids;
  ~Started() {
    for (pid_t p : pids) kill(p, SIGTERM);
    for (pid_t p : pids) {
      for (int i = 0; i < 100 && waitpid(p, nullptr, WNOHANG) == 0; ++i) std::this_thread::sleep_for(100ms);
      if (kill(p, SIGKILL) == 0) waitpid(p, nullptr, 0);
    }
  }
};

int Submissions() {
  const char* n = getenv("AIRLOCK_FARM_SUBMISSIONS");
  int v = n != nullptr ? atoi(n) : 0;
  return v > 0 ? v : 40;
}

// Submission i: a static file, every tenth a script detonated (it runs 2 s: work in flight to kill),
// every fifth a copy of an earlier one (a duplicate: analysed once; half of them are detonations).
// Returns {name, content, kind}.
std::tuple<std::string, std::string, std::string> Sample(int i) {
  int base = i % 5 == 4 ? i - 2 : i;  // 4 -> 2 (a detonation), 9 -> 7, 14 -> 12, ...
  if (base % 10 == 2) return {"job" + std::to_string(i) + ".sh", "#!/bin/sh\necho farm job " + std::to_string(base) + "\nsleep 2\n", "detonate"};
  return {"note" + std::to_string(i) + ".txt", "farm note " + std::to_string(base) + "\n", "static"};
}

pid_t WorkerPid(const test::ApiClient& api, const std::string& id) {
  json st = api.Get("/api/v1/status");
  for (const auto& w : st.value("workers", json::array())) {
    if (w.value("id", "") == id && w.value("alive", false)) return pid_t(w.value("pid", 0));
  }
  return 0;
}

TEST(Farm, WorkersOnTheirOwnNodesLoseAndDoubleNothingWhenAWorkerAndANatsNodeAreKilled) {
  if (!test::IsRoot()) GTEST_SKIP() << "root only: the nodes' network namespaces are joined to the host by veth pairs";
  if (service::FindNatsServer().empty()) GTEST_SKIP() << "nats-server is not installed (scripts/install-deps.sh)";
  if (NodeNetwork::IpBin().empty()) GTEST_SKIP() << "iproute2's ip is not installed (scripts/install-deps.sh)";
  NodeNetwork net(2);
  ASSERT_TRUE(net.ok()) << net.error();
  const std::string dir = test::MakeTempDir("farm");
  struct RemovedLast {  // after the processes below (destroyed first) and the NATS nodes
    std::string dir;
    ~RemovedLast() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } removed_last{dir};
  // The cluster: clients on the bridge's address, routes on loopback.
  std::vector<int> cports = {test::FreeLoopbackPort(), test::FreeLoopbackPort(), test::FreeLoopbackPort()};
  std::vector<std::string> routes;
  for (int p : cports) routes.push_back("nats://127.0.0.1:" + std::to_string(p));
  std::vector<std::unique_ptr<service::NatsServer>> nats;
  std::string urls;
  for (int i = 0; i < 3; ++i) {
    service::NatsServerOptions o{dir + "/n" + std::to_string(i), "n" + std::to_string(i), -1, cports[size_t(i)], routes};
    o.address = net.host_ip();
    auto s = service::NatsServer::Start(o);
    ASSERT_TRUE(s) << s.error().What();
    urls += (urls.empty() ? "" : ",") + (*s)->url();
    nats.push_back(std::move(*s));
  }
  ASSERT_NE(urls.find(net.host_ip()), std::string::npos) << urls;
  // serve on the host, its key made beforehand; workers on the nodes.
  auto k = test::Run({test::AirlockBin(), "serve", "--keys", dir + "/keys", "--new-key", "admin", "--role", "admin"});
  ASSERT_EQ(k.exit_code, 0) << k.err;
  // AckWait 3 s: the killed worker's detonation comes back soon. MaxDeliver 10: with so short an
  // AckWait, a message delivered into a pull request the failover lost comes back after 3 s, and three
  // such deliveries fit in one leader election (with the default 120 s AckWait they cannot).
  const std::string common_ack = "3", max_deliver = "10";
  Started started;
  started.pids.push_back(test::SpawnLogged({test::AirlockBin(), "serve", "--nats", urls, "--keys", dir + "/keys", "--listen", "127.0.0.1:0",
                                   "--url-file", dir + "/url", "--replicas", "3", "--ack-wait", common_ack, "--max-deliver", max_deliver, "--rate", "1000",
                                   "--burst", "2000"},
                                  dir + "/serve.log"));
  // Node a takes detonations only and node b static work only, so that a detonation is surely in
  // flight on node a when it is killed; node a's rebooted worker takes both.
  auto worker = [&](int node, const std::string& id, const std::string& kinds) {
    started.pids.push_back(test::SpawnLogged(net.On(node, {test::AirlockBin(), "worker", "--nats", urls, "--id", id, "--kinds", kinds, "--replicas", "3", "--ack-wait",
                                           common_ack, "--max-deliver", max_deliver, "--capacity", "2", "--work-dir", dir + "/" + id}),
                             dir + "/" + id + ".log"));
    return started.pids.back();
  };
  const pid_t node_a = worker(0, "node-a", "detonate");
  worker(1, "node-b", "static");
  std::string url;
  for (int i = 0; i < 3000 && url.empty(); ++i) {
    url = test::ReadFileOrEmpty(dir + "/url");
    std::this_thread::sleep_for(10ms);  // polling the file serve writes once it listens
  }
  ASSERT_FALSE(url.empty()) << test::ReadFileOrEmpty(dir + "/serve.log");
  test::ApiClient api(url.substr(0, url.find('\n')), k.out.substr(0, k.out.find('\n')));
  for (int i = 0; i < 300 && (WorkerPid(api, "node-a") == 0 || WorkerPid(api, "node-b") == 0); ++i) std::this_thread::sleep_for(100ms);
  ASSERT_GT(WorkerPid(api, "node-b"), 0) << api.Get("/api/v1/status").dump() << test::ReadFileOrEmpty(dir + "/node-b.log");

  // Submit everything; count the distinct analyses (kind + content).
  const auto t0 = std::chrono::steady_clock::now();
  auto at = [&t0] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const int n = Submissions();
  std::map<uint64_t, std::string> key_of;  // task id -> kind + content
  for (int i = 0; i < n; ++i) {
    auto [name, content, kind] = Sample(i);
    json r = json::object();
    for (int t = 0; t < 50 && r.value("status", -1) != 201; ++t) {
      if (t > 0) std::this_thread::sleep_for(200ms);  // 503 while the cluster elects leaders
      r = api.Submit(name, content, kind, "20");
    }
    ASSERT_EQ(r.value("status", -1), 201) << r.dump();
    key_of[r["task_id"].get<uint64_t>()] = kind + "\n" + content;
  }
  std::set<std::string> keys;
  for (const auto& [id, key] : key_of) keys.insert(key);
  std::cerr << "farm: " << n << " submissions (" << keys.size() << " analyses) accepted after " << at() << " s\n";

  // Chaos while node a runs a detonation: kill -9 its worker and NATS node n1, then bring node a's
  // worker back (a node rebooted).
  auto done_count = [&] {
    json st = api.Get("/api/v1/status");
    return st.contains("tasks") && st["tasks"].is_object() ? st["tasks"].value("done", 0) : -1;
  };
  auto running_on_a = [&] {
    json l = api.Get("/api/v1/tasks?state=running&limit=1000");
    for (const auto& t : l.value("tasks", json::array())) {
      if (t.value("worker", "") == "node-a" && t["options"].value("kind", "") == "detonate") return true;  // runs 2 s
    }
    return false;
  };
  bool in_flight = false;
  for (int i = 0; i < 1200 && !(in_flight = running_on_a()); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(in_flight) << "no detonation ran on node a within 60 s: " << api.Get("/api/v1/status").dump();
  std::cerr << "farm: worker node-a and NATS node n1 killed after " << at() << " s (" << done_count() << " done"
            << ", a detonation in flight on node-a)\n";
  ASSERT_EQ(kill(node_a, SIGKILL), 0);
  waitpid(node_a, nullptr, 0);
  nats[1]->Kill();
  worker(0, "node-a2", "static,detonate");

  // Every task finishes, once.
  std::map<uint64_t, json> finished;
  for (const auto& [id, key] : key_of) {
    json t = api.WaitFinished(id, 300s);
    ASSERT_EQ(t.value("state", ""), "done") << id << ": " << t.dump() << test::ReadFileOrEmpty(dir + "/serve.log");
    finished[id] = t;
  }
  std::cerr << "farm: all " << n << " done after " << at() << " s\n";
  int redelivered = 0;
  std::map<std::string, uint64_t> analysis_of;  // key -> the task whose analysis it is
  for (const auto& [id, t] : finished) {
    uint64_t a = t.contains("analysis_task") ? t["analysis_task"].get<uint64_t>() : id;
    auto [it, fresh] = analysis_of.emplace(key_of[id], a);
    EXPECT_EQ(it->second, a) << "one analysis per key: task " << id << " has another than its duplicates";
    // A failover can cost a task more than one extra claim (a worker retrying the store through the
    // election loses the message to AckWait, another claims it); the result is still published once.
    EXPECT_LE(t.value("attempts", 0), std::stoi(max_deliver)) << t.dump();
    redelivered += t.value("attempts", 0) >= 2 ? 1 : 0;
  }
  EXPECT_GE(redelivered, 1) << "the work node a had in flight was redelivered and finished";
  EXPECT_EQ(analysis_of.size(), keys.size());
  // The rebooted node's worker joined; the queues read empty (a consumer whose leader was on the
  // killed node answers again once the cluster re-elected it).
  json st;
  for (int i = 0; i < 200; ++i) {
    st = api.Get("/api/v1/status");
    if (WorkerPid(api, "node-a2") > 0 && st["queue"]["static"] == 0 && st["queue"]["detonate"] == 0) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_GT(WorkerPid(api, "node-a2"), 0) << st.dump() << test::ReadFileOrEmpty(dir + "/node-a2.log");
  EXPECT_EQ(st.value("keys", 0u), keys.size()) << "one result per analysis: " << st.dump();
  EXPECT_EQ(st["tasks"].value("done", 0), n) << st.dump();
  EXPECT_EQ(st["dead_letters"], 0) << st.dump();
  for (const char* kind : {"static", "detonate"}) EXPECT_EQ(st["queue"][kind], 0) << st.dump();
  // The analyses ran on the nodes: each node's worker took work.
  uint64_t on_b = 0;
  for (const auto& w : st["workers"]) {
    if (w.value("id", "") == "node-b") on_b = w.value("analyses", 0u);
  }
  EXPECT_GT(on_b, 0u) << st.dump();
  RecordProperty("submissions", n);
  RecordProperty("analyses", int(keys.size()));
}

}  // namespace
