// `airlock serve --local` end to end: its own nats-server, local workers running the real
// `airlock scan` / `airlock analyze` sandboxes, the REST API over HTTP (cpp-httplib's client), bad
// input, a worker killed mid-analysis. Runs as root and as uid 65534 (tests/cmake/AirlockTiers.cmake).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "process/spawn.h"
#include "service/api_client.h"
#include "service/nats_server.h"
#include "support/test_env.h"

namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace test = airlock::test;

class Serve {
 public:
  // Starts `airlock serve --local` with `extra` options; ok() says whether it listens.
  explicit Serve(const std::vector<std::string>& extra, int workers = 2) {
    dir_ = test::MakeTempDir("serve");
    std::vector<std::string> keyargv = {test::AirlockBin(), "serve", "--state-dir", dir_ + "/state", "--new-key", "reader", "--role", "read"};
    auto k = test::Run(keyargv);
    reader_ = k.out.substr(0, k.out.find('\n'));
    std::vector<std::string> argv = {test::AirlockBin(), "serve", "--local", "--state-dir", dir_ + "/state", "--listen",
                                     "127.0.0.1:0", "--url-file", dir_ + "/url", "--workers", std::to_string(workers),
                                     "--ack-wait", "3"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    pid_ = test::SpawnLogged(argv, dir_ + "/serve.log");
    for (int i = 0; i < 3000 && url_.empty(); ++i) {
      std::string u = test::ReadFileOrEmpty(dir_ + "/url");
      if (!u.empty()) url_ = u.substr(0, u.find('\n'));
      int st = 0;
      if (url_.empty() && waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(10ms);  // polling the file serve writes once it listens
    }
    admin_ = test::ReadFileOrEmpty(dir_ + "/state/admin.key");
    admin_ = admin_.substr(0, admin_.find('\n'));
    api_ = test::ApiClient(url_, admin_);
  }
  ~Serve() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ok() const { return !url_.empty(); }
  std::string Log() const { return test::ReadFileOrEmpty(dir_ + "/serve.log"); }
  httplib::Client Client(const std::string& key) const { return api_.Client(key); }
  const std::string& admin() const { return admin_; }
  const std::string& url() const { return url_; }
  const std::string& reader() const { return reader_; }
  json Submit(const std::string& name, const std::string& content, const std::string& kind, const std::string& timeout = "60") {
    return api_.Submit(name, content, kind, timeout);
  }
  json Get(const std::string& path, const std::string& key) { return api_.Get(path, key); }
  json WaitFinished(uint64_t id, std::chrono::seconds limit = 120s) { return api_.WaitFinished(id, limit); }
  // POST /api/v1/tasks/ID/verify (its answer in "posted": status and body), then the verification once
  // it is done or failed (polled, at most 60 s).
  json Verify(const std::string& id) {
    auto posted = Client(admin_).Post("/api/v1/tasks/" + id + "/verify");
    json answer = {{"status", posted ? posted->status : -1}, {"body", posted ? json::parse(posted->body, nullptr, false) : json()}};
    json v = json::object();
    for (int i = 0; posted && posted->status == 202 && i < 600 && v.value("state", "") != "done" && v.value("state", "") != "failed"; ++i) {
      if (i > 0) std::this_thread::sleep_for(100ms);
      v = Get("/api/v1/tasks/" + id + "/verify", admin_);
    }
    v["posted"] = answer;
    return v;
  }

 private:
  std::string dir_, url_, admin_, reader_;
  test::ApiClient api_;
  pid_t pid_ = -1;
};

const std::string kEicar = std::string("X5O!P%@AP[4\\PZX54(P^)7CC)7}$") + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

bool HaveNats() { return !airlock::service::FindNatsServer().empty(); }
#define REQUIRE_NATS() \
  if (!HaveNats()) GTEST_SKIP() << "nats-server is not installed (scripts/install-deps.sh)"

TEST(Serve, DuplicatesAreAnalysedOnceAndShareTheResult) {
  REQUIRE_NATS();
  Serve s({});
  ASSERT_TRUE(s.ok()) << s.Log();
  std::vector<std::pair<std::string, std::string>> files = {
      {"eicar.com", kEicar}, {"notes.txt", "just some notes\n"}, {"run.sh", "#!/bin/sh\necho hello\n"}};
  std::map<std::string, std::vector<uint64_t>> ids;  // name -> task ids
  for (int round = 0; round < 2; ++round) {
    for (const auto& [name, content] : files) {
      json r = s.Submit(name, content, "static");
      ASSERT_EQ(r["status"], 201) << r.dump() << s.Log();
      EXPECT_EQ(r["duplicate"], round == 1) << name;
      ids[name].push_back(r["task_id"].get<uint64_t>());
    }
  }
  json d1 = s.Submit("run.sh", "#!/bin/sh\necho hello\n", "detonate", "10");
  json d2 = s.Submit("run-copy.sh", "#!/bin/sh\necho hello\n", "detonate", "10");
  ASSERT_EQ(d1["status"], 201) << d1.dump();
  EXPECT_EQ(d1["duplicate"], false) << "detonation is another key than static triage of the same file";
  EXPECT_EQ(d2["duplicate"], true);
  ids["detonate"] = {d1["task_id"].get<uint64_t>(), d2["task_id"].get<uint64_t>()};
  for (const auto& [name, list] : ids) {
    json first = s.WaitFinished(list[0]);
    ASSERT_EQ(first.value("state", ""), "done") << name << ": " << first.dump() << s.Log();
    EXPECT_EQ(first["attempts"], 1) << name;
    json second = s.Get("/api/v1/tasks/" + std::to_string(list[1]), s.admin());
    EXPECT_EQ(second["state"], "done");
    EXPECT_EQ(second["analysis_task"], list[0]) << "the duplicate shares the first submission's analysis";
    EXPECT_EQ(second["verdict"], first["verdict"]);
    ASSERT_TRUE(first.contains("fingerprint"));
    EXPECT_EQ(first["fingerprint"]["policy_hash"].get<std::string>().size(), 64u);
    EXPECT_EQ(first["fingerprint"]["rules_hash"].get<std::string>().size(), 64u);
  }
  EXPECT_EQ(s.WaitFinished(ids["eicar.com"][0])["verdict"], "malicious");
  // Exactly one analysis per key: the workers' counters add up to the 4 keys.
  json st = s.Get("/api/v1/status", s.admin());
  uint64_t analyses = 0;
  for (int i = 0; i < 100; ++i) {  // heartbeats carry the counters every 2 s
    analyses = 0;
    for (const auto& w : st["workers"]) analyses += w.value("analyses", 0u);
    if (analyses >= 4) break;
    std::this_thread::sleep_for(100ms);
    st = s.Get("/api/v1/status", s.admin());
  }
  EXPECT_EQ(analyses, 4u) << st.dump();
  EXPECT_EQ(st["keys"], 4);
  // Reports: JSON with provenance, HTML under a sandboxing CSP, a Navigator layer, search.
  auto c = s.Client(s.reader());
  auto rep = c.Get("/api/v1/tasks/" + std::to_string(ids["eicar.com"][1]) + "/report");
  ASSERT_TRUE(rep);
  ASSERT_EQ(rep->status, 200) << rep->body;
  json report = json::parse(rep->body);
  EXPECT_EQ(report["provenance"]["fingerprint"], st["fingerprint"]);
  // A stored report is the scan's or analyze's own with the envelope's `provenance`: valid under the
  // published schemas (docs/schema/).
  const std::string docs = airlock::test::MakeTempDir("serve-reports");
  auto detonated = c.Get("/api/v1/tasks/" + std::to_string(ids["detonate"][0]) + "/report");
  ASSERT_TRUE(detonated);
  ASSERT_EQ(detonated->status, 200) << detonated->body;
  airlock::test::WriteFile(docs + "/static.json", rep->body);
  airlock::test::WriteFile(docs + "/detonated.json", detonated->body);
  auto valid = airlock::test::ValidateJsonSchema("scan.schema.json", {docs + "/static.json"});
  EXPECT_EQ(valid.exit_code, 0) << valid.err << rep->body.substr(0, 2000);
  valid = airlock::test::ValidateJsonSchema("analyze.schema.json", {docs + "/detonated.json"});
  EXPECT_EQ(valid.exit_code, 0) << valid.err << detonated->body.substr(0, 2000);
  auto html = c.Get("/api/v1/tasks/" + std::to_string(ids["detonate"][0]) + "/report.html");
  ASSERT_TRUE(html);
  EXPECT_EQ(html->status, 200);
  EXPECT_NE(html->get_header_value("Content-Security-Policy").find("sandbox"), std::string::npos);
  // A detonation keeps its behaviour events and the sinkhole's traffic (PCAP); a static task has neither.
  auto events = c.Get("/api/v1/tasks/" + std::to_string(ids["detonate"][1]) + "/events");
  ASSERT_TRUE(events);
  EXPECT_EQ(events->status, 200) << events->body.substr(0, 500);
  EXPECT_EQ(events->get_header_value("Content-Type"), "application/x-ndjson");
  EXPECT_NE(events->body.find("\"process_creation\""), std::string::npos) << events->body.substr(0, 500);
  auto pcap = c.Get("/api/v1/tasks/" + std::to_string(ids["detonate"][0]) + "/pcap");
  ASSERT_TRUE(pcap);
  ASSERT_EQ(pcap->status, 200) << pcap->body.substr(0, 500);
  ASSERT_GE(pcap->body.size(), 24u);
  uint32_t magic = 0;
  std::memcpy(&magic, pcap->body.data(), 4);
  EXPECT_EQ(magic, 0xa1b2c3d4u) << "a pcap file";
  auto no_pcap = c.Get("/api/v1/tasks/" + std::to_string(ids["notes.txt"][0]) + "/pcap");
  ASSERT_TRUE(no_pcap);
  EXPECT_EQ(no_pcap->status, 404);
  EXPECT_NE(no_pcap->body.find("static analysis"), std::string::npos) << no_pcap->body;
  json nav = s.Get("/api/v1/tasks/" + std::to_string(ids["eicar.com"][0]) + "/navigator", s.reader());
  EXPECT_EQ(nav["domain"], "enterprise-attack");
  json found = s.Get("/api/v1/tasks?verdict=malicious", s.reader());
  ASSERT_EQ(found["tasks"].size(), 2u) << found.dump();
  json by_name = s.Get("/api/v1/tasks?name=NOTES", s.reader());
  EXPECT_EQ(by_name["tasks"].size(), 2u);
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("airlock_tasks{state=\"done\"} 8"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("airlock_queue_depth{kind=\"static\"} 0"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("airlock_analysis_duration_seconds_count{kind=\"detonate\"} 1"), std::string::npos);
}

// A detonation keeps what the sample left: each file its report lists as dropped, by SHA-256 (the
// content checked against the report's hash). Only those: another hash, a malformed one, or a static
// task get clear errors.
TEST(Serve, ADetonationKeepsTheFilesTheSampleDropped) {
  REQUIRE_NATS();
  Serve s({});
  ASSERT_TRUE(s.ok()) << s.Log();
  const std::string stage2 = "#!/bin/sh\necho stage two\n";
  json d = s.Submit("drop.sh", "#!/bin/sh\nprintf '#!/bin/sh\\necho stage two\\n' > /tmp/stage2.sh\nln -s /etc/hostname /tmp/link\n",
                    "detonate", "10");
  ASSERT_EQ(d["status"], 201) << d.dump();
  const uint64_t id = d["task_id"].get<uint64_t>();
  ASSERT_EQ(s.WaitFinished(id).value("state", ""), "done") << s.Log();
  json report = s.Get("/api/v1/tasks/" + std::to_string(id) + "/report", s.reader());
  std::string sha;
  for (const auto& f : report["dropped"]) {
    if (f.value("path", "") == "/tmp/stage2.sh") sha = f["hashes"].value("sha256", "");
  }
  ASSERT_EQ(sha.size(), 64u) << report["dropped"].dump();
  auto c = s.Client(s.reader());
  auto got = c.Get("/api/v1/tasks/" + std::to_string(id) + "/dropped/" + sha);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200) << got->body;
  EXPECT_EQ(got->body, stage2);
  EXPECT_EQ(got->get_header_value("Content-Type"), "application/octet-stream");
  auto other = c.Get("/api/v1/tasks/" + std::to_string(id) + "/dropped/" + std::string(64, 'a'));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404) << other->body;
  auto bad = c.Get("/api/v1/tasks/" + std::to_string(id) + "/dropped/not-a-hash");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
  auto climb = c.Get("/api/v1/tasks/" + std::to_string(id) + "/dropped/..%2F..%2Fetc%2Fpasswd");
  ASSERT_TRUE(climb);
  EXPECT_EQ(climb->status, 404) << "no route: the decoded slashes leave the pattern" << climb->body;
  EXPECT_EQ(climb->body.find("root:"), std::string::npos);
  json st = s.Submit("notes.txt", "just notes\n", "static");
  ASSERT_EQ(s.WaitFinished(st["task_id"].get<uint64_t>()).value("state", ""), "done");
  auto none = c.Get("/api/v1/tasks/" + std::to_string(st["task_id"].get<uint64_t>()) + "/dropped/" + sha);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
  EXPECT_NE(none->body.find("static analysis"), std::string::npos) << none->body;
}

TEST(Serve, CapeClientsSubmitUnchanged) {
  REQUIRE_NATS();
  Serve s({});
  ASSERT_TRUE(s.ok()) << s.Log();
  httplib::Client c = s.Client("");
  c.set_default_headers({{"Authorization", "Token " + s.admin()}});  // CAPE's header
  httplib::MultipartFormDataItems items = {{"file", "plain text\n", "readme.txt", ""}, {"package", "txt", "", ""},
                                           {"timeout", "10", "", ""}, {"kind", "static", "", ""}};
  auto r = c.Post("/apiv2/tasks/create/file/", items);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["error"], false);
  uint64_t id = j["data"]["task_ids"][0].get<uint64_t>();
  s.WaitFinished(id);
  auto v = c.Get("/tasks/view/" + std::to_string(id));
  ASSERT_TRUE(v);
  EXPECT_EQ(json::parse(v->body)["data"]["status"], "reported") << v->body;
  auto rep = c.Get("/apiv2/tasks/get/report/" + std::to_string(id) + "/");
  ASSERT_TRUE(rep);
  EXPECT_EQ(rep->status, 200);
  // A URL submission becomes a sample of its own (static triage of an Internet shortcut).
  auto u = c.Post("/api/v1/tasks", R"({"url": "https://example.invalid/invoice.exe", "kind": "static"})", "application/json");
  ASSERT_TRUE(u);
  ASSERT_EQ(u->status, 201) << u->body;
  json ut = s.WaitFinished(json::parse(u->body)["task_id"].get<uint64_t>());
  EXPECT_EQ(ut.value("state", ""), "done") << ut.dump();
  EXPECT_EQ(ut.value("name", ""), "https://example.invalid/invoice.exe");
  auto missing = c.Get("/tasks/view/999999");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST(Serve, BadInputGetsClearErrors) {
  REQUIRE_NATS();
  Serve s({"--max-upload", "1", "--rate", "0.01", "--burst", "6"}, /*workers=*/0);
  ASSERT_TRUE(s.ok()) << s.Log();
  auto c = s.Client(s.admin());
  auto expect = [](const httplib::Result& r, int status, const std::string& words) {
    ASSERT_TRUE(r) << "no response (" << httplib::to_string(r.error()) << ")";
    EXPECT_EQ(r->status, status) << r->body;
    json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << "not a JSON error: " << r->body;
    EXPECT_NE(j["error"].get<std::string>().find(words), std::string::npos) << r->body;
  };
  // Oversized upload (2 MiB against a 1 MiB limit): refused from its Content-Length (the server reads
  // and discards the body, never keeps it).
  httplib::MultipartFormDataItems big = {{"file", std::string(2 << 20, 'A'), "big.bin", ""}};
  expect(c.Post("/api/v1/tasks", big), 413, "larger than the server's limit");
  // Malformed multipart: a boundary that never appears.
  expect(c.Post("/api/v1/tasks", "--nope\r\ngarbage", "multipart/form-data; boundary=xyz"), 400, "multipart");
  expect(c.Post("/api/v1/tasks", "{\"url\": ", "application/json"), 400, "JSON");
  expect(c.Post("/api/v1/tasks", "{\"url\": \"file:///etc/passwd\"}", "application/json"), 400, "http");
  httplib::MultipartFormDataItems typo = {{"file", "x", "x.txt", ""}, {"timout", "5", "", ""}};
  expect(c.Post("/api/v1/tasks", typo), 400, "timout");
  expect(c.Get("/api/v1/tasks/424242"), 404, "no task");
  expect(c.Get("/api/v1/tasks/abc"), 400, "positive whole number");
  expect(c.Get("/api/v1/tasks?verdict=evil"), 400, "verdict");
  expect(s.Client("").Get("/api/v1/tasks"), 401, "API key is required");
  expect(s.Client("alk_" + std::string(64, '0')).Get("/api/v1/tasks"), 401, "unknown API key");
  httplib::MultipartFormDataItems small = {{"file", "hello\n", "hello.txt", ""}};
  expect(s.Client(s.reader()).Post("/api/v1/tasks", small), 403, "role is read");
  expect(s.Client(s.reader()).Delete("/api/v1/tasks/1"), 403, "needs admin");
  // Flood: every submission (valid or not) spends the key's budget (burst 6, refill 1 per 100 s);
  // a flood is refused with 429 and Retry-After, and never more than the burst gets through.
  int accepted = 0, limited = 0;
  std::string retry_after;
  for (int i = 0; i < 12; ++i) {
    httplib::MultipartFormDataItems f = {{"file", "flood " + std::to_string(i), "f.txt", ""}};
    auto r = c.Post("/api/v1/tasks", f);
    ASSERT_TRUE(r);
    if (r->status == 201) ++accepted;
    if (r->status == 429) {
      ++limited;
      retry_after = r->get_header_value("Retry-After");
      EXPECT_NE(r->body.find("too many submissions"), std::string::npos) << r->body;
    }
  }
  EXPECT_GE(limited, 6) << "a flood beyond the burst must be refused";
  EXPECT_GE(accepted, 1);
  EXPECT_LE(accepted, 6);
  EXPECT_FALSE(retry_after.empty());
  // An accepted task is visible at once and can be deleted by an admin.
  json list = s.Get("/api/v1/tasks", s.admin());
  ASSERT_FALSE(list["tasks"].empty()) << list.dump();
  uint64_t id = list["tasks"][0]["id"].get<uint64_t>();
  auto del = c.Delete("/api/v1/tasks/" + std::to_string(id));
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200) << del->body;
  expect(c.Get("/api/v1/tasks/" + std::to_string(id)), 404, "no task");
}

// Reproducible verdicts: POST /verify re-runs a finished analysis on another worker; GET compares the
// two runs. With one worker there is no other: the verification fails, saying why.
TEST(Serve, VerifyRerunsOnAnotherWorkerAndCompares) {
  REQUIRE_NATS();
  Serve s({});
  ASSERT_TRUE(s.ok()) << s.Log();
  json r = s.Submit("eicar.com", kEicar, "static");
  ASSERT_EQ(r["status"], 201) << r.dump();
  const std::string id = std::to_string(r["task_id"].get<uint64_t>());
  auto c = s.Client(s.admin());
  json first = s.WaitFinished(r["task_id"].get<uint64_t>());
  ASSERT_EQ(first.value("state", ""), "done") << first.dump() << s.Log();
  EXPECT_EQ(c.Get("/api/v1/tasks/" + id + "/verify")->status, 404) << "never verified yet";
  auto reader = s.Client(s.reader());
  EXPECT_EQ(reader.Post("/api/v1/tasks/" + id + "/verify")->status, 403) << "verifying needs the submit role";
  json v = s.Verify(id);
  ASSERT_EQ(v["posted"]["status"], 202) << v.dump();
  EXPECT_EQ(v["posted"]["body"]["avoid_worker"], first["worker"]);
  ASSERT_EQ(v.value("state", ""), "done") << v.dump() << s.Log();
  EXPECT_EQ(s.Get("/api/v1/tasks/" + id + "/verify", s.reader())["state"], "done") << "a reader sees it";
  EXPECT_EQ(v["agree"], true) << v.dump();
  EXPECT_EQ(v["other_worker"], true) << v.dump();
  EXPECT_NE(v["rerun"]["worker"], v["original"]["worker"]);
  EXPECT_EQ(v["rerun"]["verdict"], "malicious");
  EXPECT_EQ(v["rerun"]["fingerprint"], v["original"]["fingerprint"]);
  // The verification is not a key of its own, and the task keeps its result.
  json st = s.Get("/api/v1/status", s.admin());
  EXPECT_EQ(st["keys"], 1) << st.dump();
  EXPECT_EQ(s.Get("/api/v1/tasks/" + id, s.admin())["worker"], first["worker"]);
  EXPECT_EQ(c.Post("/api/v1/tasks/999999/verify")->status, 404);
}

TEST(Serve, VerifyWithOneWorkerFailsSayingWhy) {
  REQUIRE_NATS();
  Serve s({}, /*workers=*/1);
  ASSERT_TRUE(s.ok()) << s.Log();
  json r = s.Submit("notes.txt", "nothing to see\n", "static");
  ASSERT_EQ(r["status"], 201) << r.dump();
  const std::string id = std::to_string(r["task_id"].get<uint64_t>());
  ASSERT_EQ(s.WaitFinished(r["task_id"].get<uint64_t>()).value("state", ""), "done");
  json v = s.Verify(id);
  ASSERT_EQ(v["posted"]["status"], 202) << v.dump();
  EXPECT_EQ(v.value("state", ""), "failed") << v.dump();
  EXPECT_NE(v["rerun"].value("error", "").find("cannot verify its own result"), std::string::npos) << v.dump();
}

TEST(Serve, WorkerKilledMidAnalysisIsRedeliveredAndFinishesOnce) {
  REQUIRE_NATS();
  Serve s({}, /*workers=*/1);
  ASSERT_TRUE(s.ok()) << s.Log();
  // A sample that runs for a while: the worker is killed while it detonates.
  json r = s.Submit("slow.sh", "#!/bin/sh\necho started\nsleep 6\necho finished\n", "detonate", "20");
  ASSERT_EQ(r["status"], 201) << r.dump();
  uint64_t id = r["task_id"].get<uint64_t>();
  json t;
  for (int i = 0; i < 600; ++i) {
    t = s.Get("/api/v1/tasks/" + std::to_string(id), s.admin());
    if (t.value("state", "") == "running") break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(t.value("state", ""), "running") << t.dump() << s.Log();
  std::string worker = t["worker"];
  json st;
  int64_t pid = 0;
  for (int i = 0; i < 100 && pid == 0; ++i) {
    st = s.Get("/api/v1/status", s.admin());
    for (const auto& w : st["workers"]) {
      if (w.value("id", "") == worker) pid = w.value("pid", 0);
    }
    if (pid == 0) std::this_thread::sleep_for(100ms);
  }
  ASSERT_GT(pid, 0) << st.dump();
  ASSERT_EQ(kill(pid_t(pid), SIGKILL), 0);
  // serve restarts its local worker; the message comes back after AckWait (3 s) and finishes.
  json done = s.WaitFinished(id, 180s);
  ASSERT_EQ(done.value("state", ""), "done") << done.dump() << s.Log();
  EXPECT_EQ(done["attempts"], 2) << "the redelivery is the second attempt of the same analysis";
  auto rep = s.Client(s.admin()).Get("/api/v1/tasks/" + std::to_string(id) + "/report");
  ASSERT_TRUE(rep);
  ASSERT_EQ(rep->status, 200);
  EXPECT_EQ(json::parse(rep->body)["provenance"]["attempt"], 2);
  // The worker acks the work after it publishes the result, so the queue (waiting or in flight) can
  // still count it for a moment after the task reads done.
  json status;
  for (int i = 0; i < 300; ++i) {
    status = s.Get("/api/v1/status", s.admin());
    if (status["queue"]["detonate"] == 0) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status["queue"]["detonate"], 0) << status.dump() << s.Log();
  EXPECT_EQ(status["dead_letters"], 0);
}

}  // namespace

namespace {

// The web UI in real headless Chromium: the page takes the key from the URL fragment, lists the tasks
// from the API and shows the verdict; a screenshot is a real PNG.
TEST(ServeUi, TaskListRendersInHeadlessChromium) {
  REQUIRE_NATS();
  if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "Debian's chromium is not installed";
  Serve s({}, /*workers=*/1);
  ASSERT_TRUE(s.ok()) << s.Log();
  json r = s.Submit("eicar.com", kEicar, "static");
  ASSERT_EQ(r["status"], 201) << r.dump();
  ASSERT_EQ(s.WaitFinished(r["task_id"].get<uint64_t>()).value("state", ""), "done");
  std::string dir = test::MakeTempDir("ui");
  std::vector<std::string> chromium = {"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                       "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                       "--user-data-dir=" + dir + "/chromium", "--window-size=1200,900",
                                       "--virtual-time-budget=5000"};
  std::string page = s.url() + "/#key=" + s.admin();
  auto dom = chromium;
  dom.insert(dom.end(), {"--dump-dom", page});
  auto d = test::Run(dom, "", 120);
  size_t table = d.out.find("<tbody id=\"tasks\">");
  ASSERT_NE(table, std::string::npos) << d.err.substr(0, 2000);
  std::string rows = d.out.substr(table, d.out.find("</tbody>", table) - table);
  EXPECT_NE(rows.find("eicar.com"), std::string::npos) << rows;
  EXPECT_NE(rows.find("class=\"malicious\">malicious"), std::string::npos) << rows;
  EXPECT_NE(rows.find("state-done"), std::string::npos) << rows;
  auto shot = chromium;
  shot.insert(shot.end(), {"--screenshot=" + dir + "/ui.png", page});
  auto sh = test::Run(shot, "", 120);
  std::string png = test::ReadFileOrEmpty(dir + "/ui.png");
  ASSERT_GT(png.size(), 10000u) << "no usable screenshot: " << sh.err.substr(0, 2000);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// A link to a task (#task=ID, what the report view puts in the address bar) opens its report, and the
// report view shows the task's verification in words.
TEST(ServeUi, ATaskLinkOpensItsReportWithItsVerification) {
  REQUIRE_NATS();
  if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "Debian's chromium is not installed";
  Serve s({});
  ASSERT_TRUE(s.ok()) << s.Log();
  json r = s.Submit("eicar.com", kEicar, "static");
  ASSERT_EQ(r["status"], 201) << r.dump();
  const std::string id = std::to_string(r["task_id"].get<uint64_t>());
  ASSERT_EQ(s.WaitFinished(r["task_id"].get<uint64_t>()).value("state", ""), "done");
  json v = s.Verify(id);
  ASSERT_EQ(v.value("state", ""), "done") << v.dump();
  std::string dir = test::MakeTempDir("ui");
  auto d = test::Run({"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync",
                      "--user-data-dir=" + dir + "/chromium", "--virtual-time-budget=5000", "--dump-dom",
                      s.url() + "/#key=" + s.admin() + "&task=" + id},
                     "", 120);
  EXPECT_NE(d.out.find("<section id=\"view-report\">"), std::string::npos) << "the report view is shown: " << d.out.substr(0, 3000);
  EXPECT_NE(d.out.find("task " + id + ": eicar.com"), std::string::npos) << d.out.substr(0, 3000);
  size_t at = d.out.find("id=\"rverify\"");
  ASSERT_NE(at, std::string::npos) << d.out.substr(0, 3000);
  std::string verify = d.out.substr(at, d.out.find("</span>", at) - at);
  EXPECT_NE(verify.find("verified on"), std::string::npos) << verify;
  EXPECT_NE(verify.find("same verdict (malicious)"), std::string::npos) << verify;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace

namespace {

// A worker whose rule set differs from serve's cannot reproduce the verdict: it refuses the work
// (never analyses it), and with MaxDeliver 1 the work becomes a dead letter and the task fails saying
// so, instead of waiting forever or getting a verdict made under other rules.
TEST(Serve, WorkerWithAnotherRuleSetRefusesWork) {
  REQUIRE_NATS();
  Serve s({"--max-deliver", "1"}, /*workers=*/0);
  ASSERT_TRUE(s.ok()) << s.Log();
  std::string log = s.Log();
  size_t at = log.find("(NATS ");
  ASSERT_NE(at, std::string::npos) << log;
  std::string nats = log.substr(at + 6, log.find(',', at) - at - 6);
  const char* env_rules = getenv("AIRLOCK_RULES_DIR");
  std::string rules = env_rules != nullptr ? env_rules : test::SourceDir() + "/rules";
  std::string dir = test::MakeTempDir("otherrules");
  std::filesystem::copy(rules, dir + "/rules", std::filesystem::copy_options::recursive);
  test::WriteFile(dir + "/rules/yara/extra.yar", "rule extra { condition: false }\n");
  std::string old = env_rules != nullptr ? env_rules : "";
  setenv("AIRLOCK_RULES_DIR", (dir + "/rules").c_str(), 1);
  pid_t worker = test::SpawnLogged({test::AirlockBin(), "worker", "--nats", nats, "--id", "other-rules", "--max-deliver", "1",
                                    "--ack-wait", "3", "--work-dir", dir + "/work"},
                                   dir + "/worker.log");
  if (env_rules != nullptr) setenv("AIRLOCK_RULES_DIR", old.c_str(), 1);
  else unsetenv("AIRLOCK_RULES_DIR");
  json r = s.Submit("notes.txt", "some notes\n", "static");
  ASSERT_EQ(r["status"], 201) << r.dump();
  json t = s.WaitFinished(r["task_id"].get<uint64_t>(), 60s);
  kill(worker, SIGTERM);
  waitpid(worker, nullptr, 0);
  std::string wlog = test::ReadFileOrEmpty(dir + "/worker.log");
  EXPECT_EQ(t.value("state", ""), "failed") << t.dump() << wlog;
  EXPECT_EQ(t.value("attempts", 99), 0) << "the worker analysed work it cannot reproduce";
  EXPECT_NE(t.value("error", "").find("dead-letter"), std::string::npos) << t.dump();
  EXPECT_NE(wlog.find("refusing"), std::string::npos) << wlog;
  EXPECT_EQ(s.Get("/api/v1/status", s.admin())["dead_letters"], 1);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace

namespace {

// TLS with a configured certificate (made by openssl at test time): HTTPS answers, plain HTTP on the
// same port does not get the API.
TEST(Serve, ServesHttpsWithAConfiguredCertificate) {
  REQUIRE_NATS();
  std::string openssl = airlock::process::FindSystemProgram("openssl");
  if (openssl.empty()) GTEST_SKIP() << "openssl (the command) is not installed";
  std::string dir = test::MakeTempDir("tls");
  auto gen = test::Run({openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem", "-out",
                        dir + "/cert.pem", "-days", "1", "-subj", "/CN=127.0.0.1"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  Serve s({"--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/key.pem"}, /*workers=*/0);
  ASSERT_TRUE(s.ok()) << s.Log();
  ASSERT_TRUE(s.url().starts_with("https://")) << s.url();
  std::string hostport = s.url().substr(8);
  httplib::SSLClient c(hostport.substr(0, hostport.rfind(':')), std::stoi(hostport.substr(hostport.rfind(':') + 1)));
  c.enable_server_certificate_verification(true);
  c.set_ca_cert_path((dir + "/cert.pem").c_str());
  c.set_default_headers({{"Authorization", "Bearer " + s.admin()}});
  auto r = c.Get("/api/v1/status");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
  httplib::Client plain("http://" + hostport);
  auto p = plain.Get("/healthz");
  EXPECT_TRUE(!p || p->status != 200) << "plain HTTP answered on the TLS port";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// A usage error is exit 2 with CLI11's message, as for every airlock command (was CLI11's own 109).
TEST(Serve, UsageErrorIsExitTwo) {
  for (std::vector<std::string> argv : {std::vector<std::string>{"serve", "--frobnicate"},
                                        std::vector<std::string>{"worker", "--nats", "nats://127.0.0.1:1", "--frobnicate"}}) {
    argv.insert(argv.begin(), test::AirlockBin());
    auto r = test::Run(argv);
    EXPECT_EQ(r.exit_code, 2) << argv[1] << ": " << r.err;
    EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
  }
}

}  // namespace
