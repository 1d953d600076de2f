// The real airlock-milter (real sandboxed scan workers, real libmilter) driven over the milter protocol
// by milter_client.cc. Runs as root and as an unprivileged user (tests/run-as-user.sh).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "milter_client.h"
#include "milter_test_util.h"
#include "process/proc_stat.h"
#include "test_env.h"

namespace airlock::milter {
namespace {

using namespace airlock::milter::test;
using nlohmann::json;
namespace fs = std::filesystem;

// airlock-milter beside this test binary (run-as-user.sh stages them together), else the build tree's.
std::string MilterBin() {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    std::string dir(self);
    std::string beside = dir.substr(0, dir.rfind('/')) + "/airlock-milter";
    if (access(beside.c_str(), X_OK) == 0) return beside;
  }
  return MILTER_BIN;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// Host pids of the scan worker payloads (airlock-milter --scan-worker inside the sandboxes) of `daemon`.
std::vector<pid_t> ScanWorkers(pid_t daemon) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(name);
    std::string cmd = airlock::test::ReadFileOrEmpty("/proc/" + name + "/cmdline");
    if (cmd.find("--scan-worker") == std::string::npos || cmd.rfind(std::string("/opt/airlock/airlock-milter"), 0) != 0) continue;
    if (airlock::IsSelfOrDescendant(pid, daemon)) out.push_back(pid);
  }
  return out;
}

// Bytes waiting unread in the stdin pipe of the daemon's worker sandbox (`airlock run`, a direct child
// of the daemon, holds the same pipe as its fd 0): > 0 once a message was handed to a stopped worker.
int PendingInWorkerPipe(pid_t daemon) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(name);
    if (airlock::ParentPid(pid) != daemon) continue;
    int fd = open(("/proc/" + name + "/fd/0").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    int n = 0;
    ioctl(fd, FIONREAD, &n);
    close(fd);
    if (n > 0) return n;
  }
  return 0;
}

class Daemon {
 public:
  explicit Daemon(const std::string& extra_config) {
    dir_ = airlock::test::MakeTempDir("milter-component");
    port_ = FreePort();
    airlock::test::WriteFile(dir_ + "/milter.toml", extra_config);
    int err[2];
    if (pipe2(err, O_CLOEXEC) != 0) return;
    std::vector<std::string> argv = {MilterBin(), "milter", "--config", dir_ + "/milter.toml", "--listen",
                                     "inet:127.0.0.1:" + std::to_string(port_), "--state-dir", dir_ + "/state",
                                     "--log", dir_ + "/log.jsonl"};
    pid_ = fork();
    if (pid_ == 0) {
      dup2(err[1], 2);
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(s.data());
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
    close(err[1]);
    err_fd_ = err[0];
    // Wait for "listening on" (the workers are up by then).
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(240);
    while (std::chrono::steady_clock::now() < until && stderr_.find("listening on") == std::string::npos) {
      pollfd p{err_fd_, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) continue;
      char buf[4096];
      ssize_t n = read(err_fd_, buf, sizeof buf);
      if (n <= 0) break;
      stderr_.append(buf, static_cast<size_t>(n));
    }
    ready_ = stderr_.find("listening on") != std::string::npos;
  }
  ~Daemon() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (err_fd_ >= 0) close(err_fd_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // SIGTERM and wait; returns the exit status (128+N for a signal).
  int Stop() {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 600; ++i) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -1;
  }
  std::vector<json> LogLines() const {
    std::vector<json> out;
    std::istringstream in(airlock::test::ReadFileOrEmpty(dir_ + "/log.jsonl"));
    for (std::string line; std::getline(in, line);) {
      auto j = json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.contains("queue_id")) out.push_back(j);
    }
    return out;
  }
  // Every message's log line so far, each valid under docs/schema/milter-log.schema.json (a real
  // line, not a sample in the docs); `expected` lines at least.
  void ExpectLogValid(size_t expected) const {
    std::vector<std::string> docs;
    for (const auto& j : LogLines()) {
      docs.push_back(dir_ + "/line" + std::to_string(docs.size()) + ".json");
      airlock::test::WriteFile(docs.back(), j.dump());
    }
    ASSERT_GE(docs.size(), expected);
    auto valid = airlock::test::ValidateJsonSchema("milter-log.schema.json", docs);
    EXPECT_EQ(valid.exit_code, 0) << valid.err;
  }
  // The last log line for `qid`.
  json LogFor(const std::string& qid) const {
    json found;
    for (const auto& j : LogLines())
      if (j["queue_id"] == qid) found = j;
    return found;
  }
  EomResult Send(const std::string& qid, const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
    MilterClient c;
    std::string error;
    EomResult r;
    if (!c.Connect(port_, &error) || !c.SendMessage(qid, "alice@example.org", {"bob@example.org"}, headers, body, &error)) {
      r.error = error.empty() ? "send failed" : error;
      return r;
    }
    r = c.ReadEom();
    c.Quit();
    return r;
  }
  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  const std::string& stderr_text() const { return stderr_; }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string stderr_;
  bool ready_ = false;
  bool exited_ = false;
};

std::string EicarBody() { return MultipartBody("see attachment", {{"eicar.com", "application/octet-stream", Eicar()}}); }
std::string CleanBody() {
  return MultipartBody("the minutes", {{"minutes.txt", "text/plain", "Minutes of the meeting.\nAll good.\n"}});
}

TEST(MilterComponent, CleanAcceptedMaliciousRejectedLoggedCachedAndCleanExit) {
  Daemon d("");
  ASSERT_TRUE(d.ready()) << d.stderr_text();

  // Clean mail: accepted, tagged (tag_all), a spoofed X-Airlock-Verdict removed.
  auto headers = MailHeaders("clean message", true);
  headers.push_back({"X-Airlock-Verdict", "clean"});
  auto clean = d.Send("QCLEAN1", headers, CleanBody());
  ASSERT_TRUE(clean.error.empty()) << clean.error;
  EXPECT_TRUE(clean.Accepted()) << clean.final_code << " " << clean.reply;
  EXPECT_EQ(clean.Header("X-Airlock-Verdict"), "clean");
  EXPECT_EQ(clean.Header("X-Airlock-Score"), "0.0");
  EXPECT_EQ(clean.Header("X-Airlock-Techniques"), "");
  EXPECT_EQ(clean.changed_headers, (std::vector<std::string>{"1 X-Airlock-Verdict="}));

  // EICAR: rejected with 550 5.7.1 and a reason.
  auto bad = d.Send("QBAD1", MailHeaders("invoice", true), EicarBody());
  ASSERT_TRUE(bad.error.empty()) << bad.error;
  EXPECT_TRUE(bad.Rejected());
  EXPECT_EQ(bad.reply.rfind("550 5.7.1 airlock:", 0), 0u) << bad.reply;
  EXPECT_TRUE(bad.added_headers.empty());

  // The same malicious body again: answered from the message cache.
  auto again = d.Send("QBAD2", MailHeaders("invoice", true), EicarBody());
  EXPECT_TRUE(again.Rejected());

  json c = d.LogFor("QCLEAN1");
  ASSERT_TRUE(c.is_object());
  EXPECT_EQ(c["verdict"], "clean");
  EXPECT_EQ(c["action"], "accept");
  EXPECT_EQ(c["from"], "alice@example.org");
  EXPECT_EQ(c["rcpt"], json::array({"bob@example.org"}));
  EXPECT_EQ(c["fail_open"], false);
  EXPECT_EQ(c["cached"], false);
  for (const char* k : {"time", "size", "attachments", "score", "techniques", "latency_ms"}) EXPECT_TRUE(c.contains(k)) << k;
  json b = d.LogFor("QBAD1");
  ASSERT_TRUE(b.is_object());
  EXPECT_EQ(b["verdict"], "malicious");
  EXPECT_EQ(b["action"], "reject");
  bool found = false;
  for (const auto& a : b["attachments"]) {
    if (a["name"] == "eicar.com") {
      found = true;
      EXPECT_EQ(a["verdict"], "malicious");
      EXPECT_EQ(a["sha256"].get<std::string>().size(), 64u);
    }
  }
  EXPECT_TRUE(found) << b.dump();
  EXPECT_EQ(d.LogFor("QBAD2")["cached"], true);
  d.ExpectLogValid(3);

  EXPECT_EQ(d.Stop(), 0);
  auto stats = json::parse(airlock::test::ReadFileOrEmpty(d.dir() + "/state/stats.json"), nullptr, false);
  ASSERT_TRUE(stats.is_object());
  EXPECT_EQ(stats["messages"], 3);
  EXPECT_EQ(stats["verdicts"]["malicious"], 2);
  EXPECT_EQ(stats["actions"]["reject"], 2);
  EXPECT_EQ(stats["cache_hits"], 1);
  EXPECT_TRUE(stats["latency_ms"].contains("p99"));
}

TEST(MilterComponent, StripReplacesTheBadAttachment) {
  Daemon d("[actions]\nmalicious = \"strip\"\n");
  ASSERT_TRUE(d.ready()) << d.stderr_text();
  auto r = d.Send("QSTRIP", MailHeaders("strip me", true), EicarBody());
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.Accepted()) << r.final_code << " " << r.reply;
  ASSERT_TRUE(r.replaced_body);
  EXPECT_EQ(r.new_body.find(Base64(Eicar()).substr(0, 40)), std::string::npos);
  EXPECT_NE(r.new_body.find("eicar.com.removed.txt"), std::string::npos);
  EXPECT_NE(r.new_body.find("see attachment"), std::string::npos);
  EXPECT_EQ(r.Header("X-Airlock-Verdict"), "malicious");
  EXPECT_EQ(d.LogFor("QSTRIP")["action"], "strip");

  // A message that is nothing but the bad attachment: the body and its content headers are replaced.
  auto headers = MailHeaders("bare", false);
  headers.back().second = "application/octet-stream; name=\"bare.com\"";
  headers.push_back({"Content-Transfer-Encoding", "base64"});
  headers.push_back({"Content-Disposition", "attachment; filename=\"bare.com\""});
  auto bare = d.Send("QBARE", headers, Base64(Eicar()));
  ASSERT_TRUE(bare.error.empty()) << bare.error;
  EXPECT_TRUE(bare.Accepted()) << bare.final_code << " " << bare.reply;
  ASSERT_TRUE(bare.replaced_body);
  EXPECT_NE(bare.new_body.find("airlock removed the attachment"), std::string::npos) << bare.new_body;
  bool type_changed = false;
  for (const auto& c : bare.changed_headers) type_changed = type_changed || c.rfind("1 Content-Type=text/plain", 0) == 0;
  EXPECT_TRUE(type_changed) << ::testing::PrintToString(bare.changed_headers);
}

TEST(MilterComponent, QuarantineHoldsAndStoresTheOriginal) {
  Daemon d("[actions]\nmalicious = \"quarantine\"\n");
  ASSERT_TRUE(d.ready()) << d.stderr_text();
  auto headers = MailHeaders("hold me", true);
  auto r = d.Send("QHOLD", headers, EicarBody());
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.Accepted());
  EXPECT_NE(r.quarantine_reason.find("airlock"), std::string::npos);
  auto list = airlock::test::Run({MilterBin(), "quarantine", "--state-dir", d.dir() + "/state", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto arr = json::parse(list.out);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["queue_id"], "QHOLD");
  EXPECT_EQ(arr[0]["verdict"], "malicious");
  std::string stored = airlock::test::ReadFileOrEmpty(d.dir() + "/state/quarantine/" + arr[0]["id"].get<std::string>() + "/message.eml");
  EXPECT_EQ(stored, Message(headers, EicarBody()));
}

TEST(MilterComponent, KilledWorkerTempfailsThenRecovers) {
  Daemon d("[milter]\nworkers = 1\nmessage_budget = \"60s\"\n");
  ASSERT_TRUE(d.ready()) << d.stderr_text();
  auto workers = ScanWorkers(d.pid());
  ASSERT_EQ(workers.size(), 1u);
  ASSERT_EQ(kill(workers[0], SIGSTOP), 0);   // the message will wait in this worker
  MilterClient c;
  std::string error;
  ASSERT_TRUE(c.Connect(d.port(), &error)) << error;
  ASSERT_TRUE(c.SendMessage("QKILL", "alice@example.org", {"bob@example.org"}, MailHeaders("killed", true), CleanBody(), &error)) << error;
  // Wait until the message is in the stopped worker's pipe, then kill the worker under it.
  for (int i = 0; i < 600 && PendingInWorkerPipe(d.pid()) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_GT(PendingInWorkerPipe(d.pid()), 0);
  ASSERT_EQ(kill(workers[0], SIGKILL), 0);
  auto r = c.ReadEom();
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.Tempfail()) << r.final_code << " " << r.reply;
  EXPECT_EQ(r.reply.rfind("451 4.7.1", 0), 0u) << r.reply;
  EXPECT_NE(d.LogFor("QKILL").value("error", "").find("worker died"), std::string::npos) << d.LogFor("QKILL").dump();
  // The worker was respawned: the next message is scanned.
  auto next = d.Send("QAFTER", MailHeaders("after", true), CleanBody());
  EXPECT_TRUE(next.Accepted()) << next.final_code << " " << next.reply;
  EXPECT_EQ(next.Header("X-Airlock-Verdict"), "clean");
  // A worker that dies while idle is replaced before the next message reaches it: no tempfail.
  workers = ScanWorkers(d.pid());
  ASSERT_EQ(workers.size(), 1u);
  ASSERT_EQ(kill(workers[0], SIGKILL), 0);
  for (int i = 0; i < 600 && !ScanWorkers(d.pid()).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto idle = d.Send("QIDLE", MailHeaders("idle death", true), CleanBody());
  EXPECT_TRUE(idle.Accepted()) << idle.final_code << " " << idle.reply;
  EXPECT_EQ(idle.Header("X-Airlock-Verdict"), "clean");
  d.ExpectLogValid(3);  // with the tempfailed message's "unscanned" line
}

TEST(MilterComponent, OverloadedQueueTempfails) {
  Daemon d("[milter]\nworkers = 1\nqueue = 0\nmessage_budget = \"20s\"\n");
  ASSERT_TRUE(d.ready()) << d.stderr_text();
  auto workers = ScanWorkers(d.pid());
  ASSERT_EQ(workers.size(), 1u);
  ASSERT_EQ(kill(workers[0], SIGSTOP), 0);   // the only worker is busy for as long as the test wants
  MilterClient a, b;
  std::string error;
  ASSERT_TRUE(a.Connect(d.port(), &error)) << error;
  ASSERT_TRUE(b.Connect(d.port(), &error)) << error;
  ASSERT_TRUE(a.SendMessage("QLOAD1", "alice@example.org", {"bob@example.org"}, MailHeaders("one", true), CleanBody(), &error));
  ASSERT_TRUE(b.SendMessage("QLOAD2", "alice@example.org", {"bob@example.org"}, MailHeaders("two", true), CleanBody(), &error));
  // One message holds the worker, the other finds no worker and no queue slot: refused at once.
  auto rb = b.ReadEom();
  auto ra = a.ReadEom();
  EXPECT_TRUE(ra.Tempfail()) << ra.final_code << " " << ra.reply;
  EXPECT_TRUE(rb.Tempfail()) << rb.final_code << " " << rb.reply;
  int overloaded = 0;
  for (const char* q : {"QLOAD1", "QLOAD2"}) {
    json j = d.LogFor(q);
    EXPECT_EQ(j["action"], "tempfail");
    if (j.value("error", "").find("overloaded") != std::string::npos) ++overloaded;
  }
  EXPECT_EQ(overloaded, 1);
}

TEST(MilterComponent, OversizeTempfailsOrFailsOpenLoudly) {
  std::string big = MultipartBody("big", {{"big.txt", "text/plain", std::string(8000, 'x')}});
  {
    Daemon d("[milter]\nmax_message_size = \"4k\"\n");
    ASSERT_TRUE(d.ready()) << d.stderr_text();
    auto r = d.Send("QBIG", MailHeaders("big", true), big);
    EXPECT_TRUE(r.Tempfail()) << r.final_code;
    EXPECT_EQ(d.LogFor("QBIG")["fail_open"], false);
  }
  {
    Daemon d("[milter]\nmax_message_size = \"4k\"\nfail_open = true\n");
    ASSERT_TRUE(d.ready()) << d.stderr_text();
    EXPECT_NE(d.stderr_text().find("FAIL-OPEN"), std::string::npos);
    auto r = d.Send("QBIGOPEN", MailHeaders("big", true), big);
    EXPECT_TRUE(r.Accepted()) << r.final_code;
    json j = d.LogFor("QBIGOPEN");
    EXPECT_EQ(j["fail_open"], true);
    EXPECT_NE(j.value("error", "").find("FAIL-OPEN"), std::string::npos);
  }
}

std::string Sample(const std::string& name) {
  return airlock::test::ReadFileOrEmpty(airlock::test::SourceDir() + "/tests/samples/analyze/" + name);
}

// credential_theft.sh looks clean to static triage; only its behaviour (detonated by airlock analyze)
// condemns it.
TEST(MilterComponent, InlineDetonationJudgesRunnableAttachmentsAndCachesTheVerdict) {
  std::string script = Sample("credential_theft.sh");
  ASSERT_FALSE(script.empty());
  Daemon d("[milter]\nmessage_budget = \"120s\"\n[detonation]\nenabled = true\nkinds = [\"shell\"]\ntimeout = \"10s\"\n");
  ASSERT_TRUE(d.ready()) << d.stderr_text();
  auto r = d.Send("QDET1", MailHeaders("tool", true),
                  MultipartBody("run this", {{"cleanup.sh", "application/x-sh", script}}));
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.Rejected()) << r.final_code << " " << r.reply;
  json j = d.LogFor("QDET1");
  EXPECT_EQ(j["verdict"], "malicious") << j.dump();
  EXPECT_EQ(j["cached"], false);
  bool found = false;
  for (const auto& a : j["attachments"]) {
    if (a["name"] != "cleanup.sh") continue;
    found = true;
    EXPECT_EQ(a["verdict"], "malicious");
    EXPECT_TRUE(fs::exists(d.dir() + "/state/analysis/" + a["sha256"].get<std::string>() + "/out/report.json"));
  }
  EXPECT_TRUE(found) << j.dump();
  // The same attachment in another message: its detonation verdict comes from the cache.
  auto again = d.Send("QDET2", MailHeaders("tool again", true),
                      MultipartBody("and this one", {{"cleanup.sh", "application/x-sh", script}}));
  EXPECT_TRUE(again.Rejected());
  EXPECT_EQ(d.LogFor("QDET2")["cached"], true);
}

TEST(MilterComponent, TempfailModeAnalysesInTheBackgroundAndAnswersTheRetry) {
  std::string script = Sample("credential_theft.sh");
  ASSERT_FALSE(script.empty());
  Daemon d("[detonation]\nenabled = true\nkinds = [\"shell\"]\nmode = \"tempfail\"\ntimeout = \"10s\"\n");
  ASSERT_TRUE(d.ready()) << d.stderr_text();
  std::string body = MultipartBody("run this", {{"cleanup.sh", "application/x-sh", script}});
  auto first = d.Send("QTF1", MailHeaders("retry me", true), body);
  EXPECT_TRUE(first.Tempfail()) << first.final_code << " " << first.reply;
  EXPECT_NE(first.reply.find("analysis in progress"), std::string::npos) << first.reply;
  // The MTA retries until the background analysis is done (bounded here at ~3 minutes).
  EomResult retry;
  for (int i = 0; i < 90; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    retry = d.Send("QTF2", MailHeaders("retry me", true), body);
    if (!retry.Tempfail()) break;
  }
  EXPECT_TRUE(retry.Rejected()) << retry.final_code << " " << retry.reply;
  EXPECT_EQ(d.LogFor("QTF2")["cached"], true);
}

// Offered what Postfix offers, the filter takes the no-reply options (one round trip per message) and
// still decides every message: clean tagged, EICAR rejected, several messages on one connection.
TEST(MilterComponent, NoReplyNegotiationAsPostfixOffersIt) {
  Daemon d("");
  ASSERT_TRUE(d.ready()) << d.stderr_text();
  MilterClient c;
  std::string error;
  ASSERT_TRUE(c.Connect(d.port(), &error, MilterClient::kPostfixProtocol)) << error;
  // SMFIP_NR_CONN, NR_MAIL, NR_RCPT, NR_HDR, NR_EOH, NR_BODY, NOHELO, NODATA, NOUNKNOWN.
  EXPECT_EQ(c.negotiated(), 0x1000u | 0x4000u | 0x8000u | 0x80u | 0x40000u | 0x80000u | 0x2u | 0x200u | 0x100u);
  ASSERT_TRUE(c.SendMessage("QNR1", "alice@example.org", {"bob@example.org"}, MailHeaders("nr clean", true), CleanBody(), &error))
      << error;
  auto clean = c.ReadEom();
  EXPECT_TRUE(clean.Accepted()) << clean.final_code << " " << clean.reply;
  EXPECT_EQ(clean.Header("X-Airlock-Verdict"), "clean");
  ASSERT_TRUE(c.SendMessage("QNR2", "alice@example.org", {"bob@example.org"}, MailHeaders("nr eicar", true), EicarBody(), &error))
      << error;
  auto bad = c.ReadEom();
  EXPECT_TRUE(bad.Rejected()) << bad.final_code << " " << bad.reply;
  c.Quit();
  EXPECT_EQ(d.LogFor("QNR1")["verdict"], "clean");
  EXPECT_EQ(d.LogFor("QNR2")["verdict"], "malicious");
}

// The real airlock front end (run-as-user.sh stages one and names it in AIRLOCK_BIN).
std::string RealAirlock() {
  const char* env = std::getenv("AIRLOCK_BIN");
  return env != nullptr && *env != '\0' ? env : AIRLOCK_TEST_BIN;
}

// An `airlock` in front of the real one for the daemon (through AIRLOCK_BIN): `analyze` runs `analyze_body`
// (shell; "$REAL" is the real binary), everything else (the workers' `airlock run`) goes to the real one.
class AirlockWrapper {
 public:
  explicit AirlockWrapper(const std::string& analyze_body) {
    dir_ = airlock::test::MakeTempDir("milter-wrap");
    ::chmod(dir_.c_str(), 0755);
    path_ = dir_ + "/airlock";
    airlock::test::WriteFile(path_, "#!/bin/sh\nREAL='" + RealAirlock() + "'\nLOG='" + dir_ + "/analyze.log'\n" +
                                        "if [ \"$1\" = analyze ]; then\n" + analyze_body + "\nfi\nexec \"$REAL\" \"$@\"\n");
    ::chmod(path_.c_str(), 0755);
    const char* old = std::getenv("AIRLOCK_BIN");
    if (old != nullptr) old_ = old;
    had_old_ = old != nullptr;
    setenv("AIRLOCK_BIN", path_.c_str(), 1);
  }
  ~AirlockWrapper() {
    if (had_old_) setenv("AIRLOCK_BIN", old_.c_str(), 1);
    else unsetenv("AIRLOCK_BIN");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Log() const { return airlock::test::ReadFileOrEmpty(dir_ + "/analyze.log"); }
  // The most analyses that ran at once, from the "start"/"end" lines the wrapper appends.
  int MaxConcurrent() const {
    std::istringstream in(Log());
    int now = 0, most = 0;
    for (std::string line; std::getline(in, line);) {
      if (line == "start") most = std::max(most, ++now);
      else if (line == "end") --now;
    }
    return most;
  }

 private:
  std::string dir_, path_, old_;
  bool had_old_ = false;
};

// An analysis that would run past message_budget (here: one that hangs) is killed before the budget
// ends, and the message is tempfailed (fail closed), not answered late and not delivered unjudged.
TEST(MilterComponent, DetonationPastTheBudgetIsKilledAndTempfailed) {
  std::string script = Sample("credential_theft.sh");
  ASSERT_FALSE(script.empty());
  AirlockWrapper wrap("echo start >> \"$LOG\"\nexec sleep 600");
  Daemon d("[milter]\nmessage_budget = \"4s\"\n[detonation]\nenabled = true\nkinds = [\"shell\"]\ntimeout = \"20s\"\n");
  ASSERT_TRUE(d.ready()) << d.stderr_text();
  auto r = d.Send("QBUDGET", MailHeaders("slow", true), MultipartBody("run this", {{"cleanup.sh", "application/x-sh", script}}));
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.Tempfail()) << r.final_code << " " << r.reply;
  EXPECT_NE(r.reply.find("451 4.7.1"), std::string::npos) << r.reply;
  EXPECT_EQ(wrap.Log(), "start\n");   // the analysis was started (and hung)
  json j = d.LogFor("QBUDGET");
  EXPECT_EQ(j["verdict"], "error") << j.dump();
  EXPECT_EQ(j["state"], "unscanned") << j.dump();
  EXPECT_EQ(j["action"], "tempfail");
  EXPECT_NE(j.value("error", "").find("killed at message_budget"), std::string::npos) << j.dump();
  EXPECT_LE(j["latency_ms"].get<double>(), 4000.0) << j.dump();   // the budget is a hard bound
  // No `sleep 600` is left behind under the daemon.
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = airlock::test::ReadFileOrEmpty("/proc/" + name + "/cmdline");
    if (cmd == std::string("sleep\0" "600\0", 10)) {
      EXPECT_FALSE(airlock::IsSelfOrDescendant(std::stoi(name), d.pid())) << "pid " << name;
    }
  }
}

// Three messages with distinct shell attachments at once: with [detonation].concurrency = 1 their analyses
// run one after another, with 2 two of them overlap; every message gets its verdict either way.
TEST(MilterComponent, DetonationConcurrencyIsBounded) {
  std::string script = Sample("credential_theft.sh");
  ASSERT_FALSE(script.empty());
  for (int limit : {1, 2}) {
    SCOPED_TRACE("concurrency " + std::to_string(limit));
    AirlockWrapper wrap("echo start >> \"$LOG\"\nsleep 1\n\"$REAL\" \"$@\"\nrc=$?\necho end >> \"$LOG\"\nexit $rc");
    Daemon d("[milter]\nmessage_budget = \"120s\"\n[detonation]\nenabled = true\nkinds = [\"shell\"]\ntimeout = \"10s\"\n"
             "concurrency = " + std::to_string(limit) + "\n");
    ASSERT_TRUE(d.ready()) << d.stderr_text();
    std::vector<EomResult> results(3);
    std::vector<std::thread> senders;
    for (int i = 0; i < 3; ++i) {
      senders.emplace_back([&, i] {
        std::string s = script + "\n# variant " + std::to_string(limit) + "-" + std::to_string(i) + "\n";   // unique SHA-256
        results[static_cast<size_t>(i)] = d.Send("QCONC" + std::to_string(i), MailHeaders("conc " + std::to_string(i), true),
                                                 MultipartBody("run this", {{"cleanup.sh", "application/x-sh", s}}));
      });
    }
    for (auto& t : senders) t.join();
    for (int i = 0; i < 3; ++i) {
      const auto& r = results[static_cast<size_t>(i)];
      EXPECT_TRUE(r.Rejected()) << i << ": " << r.error << " " << r.final_code << " " << r.reply;
      EXPECT_EQ(d.LogFor("QCONC" + std::to_string(i))["verdict"], "malicious");
    }
    EXPECT_EQ(wrap.MaxConcurrent(), limit) << wrap.Log();
  }
}

// Hostile shapes: each gets a verdict (not a tempfail, not a crash), and the daemon keeps serving.
TEST(MilterComponent, BadInputGetsADecisionEach) {
  Daemon d("");
  ASSERT_TRUE(d.ready()) << d.stderr_text();
  struct Case {
    std::string qid;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  std::vector<Case> cases;
  // Thousands of parts.
  std::vector<Attachment> many;
  for (int i = 0; i < 3000; ++i) many.push_back({"p" + std::to_string(i) + ".txt", "text/plain", "part " + std::to_string(i)});
  cases.push_back({"QPARTS", MailHeaders("parts", true), MultipartBody("many", many)});
  // Thousands of headers, one of them 60 KB long.
  auto hh = MailHeaders("headers", false);
  for (int i = 0; i < 5000; ++i) hh.push_back({"X-Filler-" + std::to_string(i), "value " + std::to_string(i)});
  hh.push_back({"X-Long", std::string(60000, 'h')});
  cases.push_back({"QHEADERS", hh, "hello\r\n"});
  // Multiparts nested 200 deep.
  std::string nested;
  for (int i = 0; i < 200; ++i) nested += "--b" + std::to_string(i) + "\r\nContent-Type: multipart/mixed; boundary=\"b" + std::to_string(i + 1) + "\"\r\n\r\n";
  nested += "--b200\r\nContent-Type: text/plain\r\n\r\ndeep\r\n";
  auto nh = MailHeaders("nested", false);
  nh.back().second = "multipart/mixed; boundary=\"b0\"";
  cases.push_back({"QNESTED", nh, nested});
  // Broken MIME: unterminated boundary, invalid base64, a part header without a body.
  cases.push_back({"QBROKEN", MailHeaders("broken", true),
                   "--airlock-test-boundary\r\nContent-Type: application/zip; name=\"a.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                   "UEsDB!!!!****\x01\x02\xff\r\n--airlock-test-boundary\r\nContent-Type: text/html\r\n"});
  for (const auto& c : cases) {
    auto r = d.Send(c.qid, c.headers, c.body);
    ASSERT_TRUE(r.error.empty()) << c.qid << ": " << r.error;
    EXPECT_TRUE(r.Accepted() || r.Rejected()) << c.qid << ": " << r.final_code << " " << r.reply;
    json j = d.LogFor(c.qid);
    EXPECT_TRUE(j.is_object() && j["state"] == "judged") << c.qid << ": " << j.dump().substr(0, 500);
  }
  auto after = d.Send("QSTILL", MailHeaders("still there", true), CleanBody());
  EXPECT_TRUE(after.Accepted());
  d.ExpectLogValid(cases.size() + 1);
  EXPECT_EQ(d.Stop(), 0);
}

TEST(MilterComponent, BadConfigExitsTwo) {
  std::string dir = airlock::test::MakeTempDir("milter-badconf");
  airlock::test::WriteFile(dir + "/bad.toml", "[milter]\nworkers = -1\n");
  auto r = airlock::test::Run({MilterBin(), "milter", "--config", dir + "/bad.toml", "--state-dir", dir});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("[milter].workers"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace airlock::milter
