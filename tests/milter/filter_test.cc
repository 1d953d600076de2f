// The milter's per-message decision (src/milter/filter.h) with a fake worker (fake_worker.h) and a
// recording MTA: each verdict under each action gives the right outcome, reply and header changes;
// every failure (worker crash, bad reply, timeout, oversize, MTA refusal) fails closed with 451 4.7.1,
// or accepts when fail_open.
#include <chrono>
#include <filesystem>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fake_worker.h"
#include "milter/filter.h"
#include "milter/quarantine_store.h"
#include "test_env.h"

namespace airlock::milter {
namespace {

using nlohmann::json;

class RecordingMta : public MtaActions {
 public:
  bool AddHeader(const std::string& name, const std::string& value) override {
    calls.push_back("add " + name + ": " + value);
    return true;
  }
  bool ChangeHeader(const std::string& name, int index, const std::string* value) override {
    calls.push_back("change " + name + "[" + std::to_string(index) + "]" + (value ? ": " + *value : " deleted"));
    return true;
  }
  bool ReplaceBody(const std::string& body) override {
    calls.push_back("body " + body);
    return true;
  }
  bool Quarantine(const std::string& reason) override {
    calls.push_back("quarantine " + reason);
    return accept_quarantine;
  }
  bool SetReply(const std::string& code, const std::string& xcode, const std::string& text) override {
    calls.push_back("reply " + code + " " + xcode + " " + text);
    return true;
  }
  void Progress() override {}
  bool accept_quarantine = true;
  std::vector<std::string> calls;
};

std::string Msg(const std::string& body) {
  return "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: t\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" + body;
}
size_t BodyOffset(const std::string& m) { return m.find("\r\n\r\n") + 4; }

class FilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = airlock::test::MakeTempDir("milter-filter");
    config_.state_dir = dir_;
    config_.log = dir_ + "/milter.log";
    config_.message_budget = std::chrono::milliseconds(10000);
    config_.max_message_size = 1 << 20;
    env_.queue_id = "4QID123";
    env_.from = "alice@example.org";
    env_.rcpts = {"bob@example.org"};
  }
  void TearDown() override {
    filter_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Filter& Make() {
    auto pool = std::make_unique<WorkerPool>(test::FakeWorkerArgv("serve"), 1, 2);
    auto s = pool->Start(std::chrono::seconds(10));
    EXPECT_TRUE(s) << s.error().What();
    filter_ = std::make_unique<Filter>(config_, std::move(pool), nullptr);
    return *filter_;
  }
  Outcome Run(const std::string& body, uint64_t oversize = 0) {
    std::string m = Msg(body);
    return filter_->Process(env_, m, BodyOffset(m), oversize, mta_);
  }
  // The last JSON line of the log.
  json LastLog() {
    std::string text = airlock::test::ReadFileOrEmpty(config_.log);
    size_t end = text.find_last_not_of('\n');
    if (end == std::string::npos) return json();
    size_t start = text.rfind('\n', end);
    return json::parse(text.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1)),
                       nullptr, false);
  }
  std::string dir_;
  MilterConfig config_;
  Envelope env_;
  RecordingMta mta_;
  std::unique_ptr<Filter> filter_;
};

TEST_F(FilterTest, CleanIsAcceptedAndTaggedWhenTagAll) {
  Make();
  EXPECT_EQ(Run("VERDICT:clean"), Outcome::kAccept);
  EXPECT_EQ(mta_.calls, (std::vector<std::string>{"add X-Airlock-Verdict: clean", "add X-Airlock-Score: 0.0"}));
  json line = LastLog();
  EXPECT_EQ(line["verdict"], "clean");
  EXPECT_EQ(line["action"], "accept");
  EXPECT_EQ(line["queue_id"], "4QID123");
  EXPECT_EQ(line["fail_open"], false);
}

TEST_F(FilterTest, CleanWithoutTagAllTouchesNothing) {
  config_.tag_all = false;
  Make();
  EXPECT_EQ(Run("nothing to see"), Outcome::kAccept);
  EXPECT_TRUE(mta_.calls.empty()) << mta_.calls.front();
}

TEST_F(FilterTest, SuspiciousIsTaggedWithTechniques) {
  config_.tag_all = false;
  Make();
  EXPECT_EQ(Run("VERDICT:suspicious TECH:T1059 TECH:T1027"), Outcome::kAccept);
  EXPECT_EQ(mta_.calls, (std::vector<std::string>{"add X-Airlock-Verdict: suspicious", "add X-Airlock-Score: 5.0",
                                                  "add X-Airlock-Techniques: T1027, T1059"}));
  EXPECT_EQ(LastLog()["action"], "tag");
}

// Issue 18: an attachment the scan could not judge (verdict "error") is never accepted as clean: the
// message fails like an unscanned one (tempfail; delivered with a FAIL-OPEN line only under fail_open).
TEST_F(FilterTest, AnUnjudgeableAttachmentIsNotAcceptedAsClean) {
  Make();
  EXPECT_EQ(Run("VERDICT:clean ATTACHMENT:unjudged"), Outcome::kTempfail);
  json line = LastLog();
  EXPECT_EQ(line["verdict"], "error") << line.dump();
  EXPECT_EQ(line["state"], "unscanned") << line.dump();
  EXPECT_EQ(line["action"], "tempfail");
  EXPECT_NE(line.value("error", "").find("could not be judged"), std::string::npos) << line.dump();
  EXPECT_EQ(line["command"], "milter") << "the report envelope";
  EXPECT_EQ(line["schema_version"], 2);
  filter_.reset();
  config_.fail_open = true;
  Make();
  EXPECT_EQ(Run("VERDICT:clean ATTACHMENT:unjudged"), Outcome::kAccept);
  EXPECT_EQ(LastLog().value("error", "").rfind("FAIL-OPEN", 0), 0u) << LastLog().dump();
}

TEST_F(FilterTest, MaliciousIsRejectedWithTheConfiguredCodeAndNoTags) {
  config_.reject_reply = "5.7.0";
  Make();
  EXPECT_EQ(Run("VERDICT:malicious TECH:T1204.002"), Outcome::kReject);
  ASSERT_EQ(mta_.calls.size(), 1u);
  EXPECT_EQ(mta_.calls[0], "reply 550 5.7.0 airlock: message rejected: malicious content (score 9.0: T1204.002)");
  EXPECT_EQ(LastLog()["action"], "reject");
}

TEST_F(FilterTest, ReplyTextIsSanitised) {
  Make();
  // A technique name from the report with '%' (a libmilter format character) and a control byte.
  EXPECT_EQ(Run("VERDICT:malicious TECH:50%\x01x"), Outcome::kReject);
  ASSERT_EQ(mta_.calls.size(), 1u);
  EXPECT_NE(mta_.calls[0].find("50__x"), std::string::npos) << mta_.calls[0];
  EXPECT_EQ(mta_.calls[0].find('%'), std::string::npos);
}

TEST_F(FilterTest, DiscardAction) {
  config_.on_malicious = Action::kDiscard;
  Make();
  EXPECT_EQ(Run("VERDICT:malicious"), Outcome::kDiscard);
  EXPECT_TRUE(mta_.calls.empty());
  EXPECT_EQ(LastLog()["action"], "discard");
}

TEST_F(FilterTest, QuarantineHoldStoresTheMessageAndTagsIt) {
  config_.on_malicious = Action::kQuarantine;
  Make();
  std::string body = "VERDICT:malicious TECH:T1566";
  EXPECT_EQ(Run(body), Outcome::kAccept) << "held by the MTA, not rejected";
  auto list = QuarantineStore(dir_).List();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  const QuarantineMeta& m = (*list)[0];
  EXPECT_EQ(m.queue_id, "4QID123");
  EXPECT_EQ(m.sender, "alice@example.org");
  EXPECT_EQ(m.verdict, "malicious");
  EXPECT_EQ(m.techniques, std::vector<std::string>{"T1566"});
  auto stored = QuarantineStore(dir_).Message(m.id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, Msg(body)) << "stored byte for byte";
  ASSERT_FALSE(mta_.calls.empty());
  EXPECT_EQ(mta_.calls[0], "quarantine airlock " + m.id + ": malicious content (score 9.0: T1566)");
  EXPECT_EQ(mta_.calls[1], "add X-Airlock-Verdict: malicious");
}

TEST_F(FilterTest, QuarantineWithoutHoldDiscards) {
  config_.on_malicious = Action::kQuarantine;
  config_.quarantine_hold = false;
  Make();
  EXPECT_EQ(Run("VERDICT:malicious"), Outcome::kDiscard);
  EXPECT_TRUE(mta_.calls.empty());
  EXPECT_EQ(QuarantineStore(dir_).List()->size(), 1u);
}

TEST_F(FilterTest, QuarantineRefusedByTheMtaFailsClosed) {
  config_.on_malicious = Action::kQuarantine;
  Make();
  mta_.accept_quarantine = false;
  EXPECT_EQ(Run("VERDICT:malicious"), Outcome::kTempfail);
  ASSERT_EQ(mta_.calls.size(), 2u);
  EXPECT_EQ(mta_.calls[1], "reply 451 4.7.1 airlock: the MTA refused to quarantine the message; try again later");
}

TEST_F(FilterTest, StripReplacesTheBodyAndFixesTheHeaders) {
  config_.on_malicious = Action::kStrip;
  Make();
  EXPECT_EQ(Run("VERDICT:malicious"), Outcome::kAccept);
  ASSERT_GE(mta_.calls.size(), 2u);
  // The fake worker lists what it was asked to remove: the malicious attachment, by sha256.
  EXPECT_EQ(mta_.calls[0].rfind("body removed: {\"" + std::string(test::kFakeSha) + "\":{", 0), 0u) << mta_.calls[0];
  EXPECT_NE(mta_.calls[0].find("\"verdict\":\"malicious\""), std::string::npos) << mta_.calls[0];
  EXPECT_EQ(mta_.calls[1], "change Content-Type[1]: text/plain");
  EXPECT_EQ(mta_.calls[2], "add X-Airlock-Verdict: malicious");
  EXPECT_EQ(LastLog()["action"], "strip");
}

TEST_F(FilterTest, ExistingAirlockHeadersAreRemovedBeforeTagging) {
  Make();
  env_.existing_airlock_headers[0] = 2;
  env_.existing_airlock_headers[2] = 1;
  EXPECT_EQ(Run("VERDICT:clean"), Outcome::kAccept);
  EXPECT_EQ(mta_.calls, (std::vector<std::string>{"change X-Airlock-Verdict[2] deleted", "change X-Airlock-Verdict[1] deleted",
                                                  "change X-Airlock-Techniques[1] deleted", "add X-Airlock-Verdict: clean",
                                                  "add X-Airlock-Score: 0.0"}));
}

TEST_F(FilterTest, WorkerCrashFailsClosed) {
  Make();
  EXPECT_EQ(Run("WORKER:crash"), Outcome::kTempfail);
  ASSERT_EQ(mta_.calls.size(), 1u);
  EXPECT_EQ(mta_.calls[0].rfind("reply 451 4.7.1 airlock: static triage: worker died: ", 0), 0u) << mta_.calls[0];
  json line = LastLog();
  EXPECT_EQ(line["verdict"], "error");
  EXPECT_EQ(line["state"], "unscanned");
  EXPECT_EQ(line["action"], "tempfail");
  EXPECT_EQ(filter_->pool().respawns(), 1u);
  // The next message is served by the respawned worker.
  mta_.calls.clear();
  EXPECT_EQ(Run("VERDICT:clean"), Outcome::kAccept);
}

TEST_F(FilterTest, WorkerCrashWithFailOpenAccepts) {
  config_.fail_open = true;
  Make();
  EXPECT_EQ(Run("WORKER:crash"), Outcome::kAccept);
  EXPECT_TRUE(mta_.calls.empty()) << "no reply and no tags on an unscanned message";
  json line = LastLog();
  EXPECT_EQ(line["fail_open"], true);
  EXPECT_EQ(line["action"], "accept");
  EXPECT_EQ(line["error"].get<std::string>().rfind("FAIL-OPEN: delivered unscanned: ", 0), 0u) << line.dump();
}

TEST_F(FilterTest, BadOrFailedRepliesFailClosed) {
  Make();
  EXPECT_EQ(Run("WORKER:notok"), Outcome::kTempfail);
  EXPECT_EQ(mta_.calls.back(), "reply 451 4.7.1 airlock: static triage: scanner failed; try again later");
  EXPECT_EQ(Run("WORKER:badjson"), Outcome::kTempfail);
  EXPECT_EQ(mta_.calls.back(), "reply 451 4.7.1 airlock: static triage: bad reply; try again later");
}

TEST_F(FilterTest, OversizeFailsClosedWithoutScanning) {
  Make();
  EXPECT_EQ(Run("WORKER:crash", 5u << 20), Outcome::kTempfail);
  ASSERT_EQ(mta_.calls.size(), 1u);
  EXPECT_EQ(mta_.calls[0], "reply 451 4.7.1 airlock: message of 5242880 bytes is larger than max_message_size (1048576); try again later");
  EXPECT_EQ(filter_->pool().respawns(), 0u) << "the worker never saw it";
  EXPECT_EQ(LastLog()["size"], 5u << 20);
}

TEST_F(FilterTest, AWorkerOverrunningTheBudgetFailsClosedInTime) {
  config_.message_budget = std::chrono::milliseconds(1000);
  Make();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Run("WORKER:slow"), Outcome::kTempfail);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1000)) << "answered within message_budget";
  ASSERT_EQ(mta_.calls.size(), 1u);
  EXPECT_EQ(mta_.calls[0].rfind("reply 451 4.7.1 airlock: static triage: timeout: ", 0), 0u) << mta_.calls[0];
}

TEST_F(FilterTest, StatsCountEachOutcome) {
  config_.tag_all = false;
  Make();
  Run("VERDICT:clean");
  Run("VERDICT:malicious");
  Run("WORKER:crash");
  filter_->FlushStats("test");
  json s = json::parse(airlock::test::ReadFileOrEmpty(dir_ + "/stats.json"), nullptr, false);
  ASSERT_TRUE(s.is_object());
  EXPECT_EQ(s["respawns"], 1);
  EXPECT_EQ(s["fail_open_enabled"], false);
  std::string text = s.dump();
  EXPECT_NE(text.find("\"unscanned\":1"), std::string::npos) << text;
  EXPECT_NE(text.find("\"malicious\":1"), std::string::npos) << text;
  EXPECT_NE(text.find("\"reject\":1"), std::string::npos) << text;
}

}  // namespace
}  // namespace airlock::milter
