// The service's pure parts: task model and options, dedupe key, API keys, rate limit, the index.
#include <gtest/gtest.h>

#include "core/json_text.h"
#include "service/api_keys.h"
#include "service/digest.h"
#include "service/rate_limit.h"
#include "service/task_index.h"
#include "service/task_model.h"
#include "service/worker.h"

namespace airlock::service {
namespace {

using nlohmann::json;
const Fingerprint kFp{"p" + std::string(63, '0'), "r" + std::string(63, '0'), "1.2.3", "yara 4.2.3, libmagic 5.44, libarchive 3.6.2"};
const std::string kSha = Sha256Hex("sample");

TEST(ServiceDigest, KnownVectorsAndBase64Url) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Base64Url(""), "");
  EXPECT_EQ(Base64Url("f"), "Zg==");
  EXPECT_EQ(Base64Url("fo"), "Zm8=");
  EXPECT_EQ(Base64Url("foo"), "Zm9v");
  EXPECT_EQ(Base64Url("\xfb\xff"), "-_8=");  // url alphabet, padded
  EXPECT_EQ(RandomHex(16).size(), 32u);
  EXPECT_NE(RandomHex(16), RandomHex(16));
  EXPECT_TRUE(IsSha256Hex(kSha));
  EXPECT_FALSE(IsSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(IsSha256Hex(kSha.substr(1)));
}

TEST(ServiceOptions, ParsedStrictly) {
  auto o = ParseSubmitOptions({{"kind", "detonate"}, {"timeout", "2m"}});
  ASSERT_TRUE(o) << o.error().message();
  EXPECT_EQ(o->kind, TaskKind::kDetonate);
  EXPECT_EQ(o->timeout_s, 120);
  EXPECT_FALSE(ParseSubmitOptions({{"kind", "vm"}}));
  EXPECT_FALSE(ParseSubmitOptions({{"timeout", "0"}}));
  EXPECT_FALSE(ParseSubmitOptions({{"timeout", "601"}}));
  EXPECT_FALSE(ParseSubmitOptions({{"timeout", "12x"}}));
  EXPECT_FALSE(ParseSubmitOptions({{"timeout", "-5"}}));
  auto typo = ParseSubmitOptions({{"timout", "5"}});
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message().find("timout"), std::string::npos);
  EXPECT_TRUE(ParseSubmitOptions({{"package", "exe"}, {"machine", "win10"}}));  // CAPE fields accepted
  EXPECT_TRUE(ParseSubmitOptionsJson(json{{"kind", "static"}, {"timeout", 30}}));
  EXPECT_FALSE(ParseSubmitOptionsJson(json{{"timeout", json::array()}}));
  EXPECT_FALSE(ParseSubmitOptionsJson(json::array()));
}

TEST(ServiceDedupeKey, EachInputCounts) {
  SubmitOptions o;
  std::string k = DedupeKey(kSha, o, kFp);
  EXPECT_TRUE(IsSha256Hex(k));
  EXPECT_EQ(k, DedupeKey(kSha, o, kFp));
  EXPECT_NE(k, DedupeKey(Sha256Hex("other"), o, kFp));
  Fingerprint f = kFp;
  f.policy_hash[1] = '1';
  EXPECT_NE(k, DedupeKey(kSha, o, f));
  f = kFp;
  f.rules_hash[1] = '1';
  EXPECT_NE(k, DedupeKey(kSha, o, f));
  f = kFp;
  f.version = "1.2.4";
  EXPECT_NE(k, DedupeKey(kSha, o, f));
  f = kFp;
  f.engines = "yara 4.3.0, libmagic 5.44, libarchive 3.6.2";
  EXPECT_NE(k, DedupeKey(kSha, o, f)) << "another YARA may match differently";
  EXPECT_NE(f, kFp) << "a worker built against another YARA refuses the work";
  auto back = ParseFingerprint(FingerprintJson(kFp));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, kFp);
  json old = FingerprintJson(kFp);
  old.erase("engines");
  auto older = ParseFingerprint(old);
  ASSERT_TRUE(older) << "a record from before engines were counted";
  EXPECT_NE(*older, kFp);
  old["engines"] = 7;
  EXPECT_FALSE(ParseFingerprint(old));
  SubmitOptions d{TaskKind::kDetonate, 60};
  EXPECT_NE(k, DedupeKey(kSha, d, kFp));
  SubmitOptions t{TaskKind::kStatic, 61};
  EXPECT_NE(k, DedupeKey(kSha, t, kFp));
}

TEST(ServiceRecords, RoundTripAndRefuseWrongTypes) {
  TaskRecord t{7, DedupeKey(kSha, {}, kFp), kSha, "a.exe", 10, {TaskKind::kDetonate, 30}, "now", "ci"};
  auto back = ParseTask(TaskJson(t));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->id, 7u);
  EXPECT_EQ(back->options.kind, TaskKind::kDetonate);
  json bad = TaskJson(t);
  bad["id"] = "7";
  EXPECT_FALSE(ParseTask(bad));
  ResultRecord r;
  r.state = TaskState::kDone;
  r.task = 7;
  r.sha256 = kSha;
  r.attempts = 2;
  r.verdict = "malicious";
  r.techniques = {"T1059"};
  r.fingerprint = kFp;
  auto rb = ParseResult(ResultJson(r));
  ASSERT_TRUE(rb) << rb.error().message();
  EXPECT_EQ(rb->state, TaskState::kDone);
  EXPECT_EQ(rb->attempts, 2u);
  EXPECT_EQ(rb->fingerprint, kFp);
  json rbad = ResultJson(r);
  rbad["state"] = "exploded";
  EXPECT_FALSE(ParseResult(rbad));
  WorkItem w{t.key, 7, kSha, "a.exe", t.options, kFp};
  auto wb = ParseWork(WorkJson(w));
  ASSERT_TRUE(wb) << wb.error().message();
  EXPECT_EQ(wb->fingerprint, kFp);
  json wbad = WorkJson(w);
  wbad["sha256"] = "../../etc/passwd";
  EXPECT_FALSE(ParseWork(wbad));
  EXPECT_FALSE(ParseWork(json::parse("[1]")));
}

// A verification's work item and record: its key is the dedupe key plus ".verify"; the worker to
// avoid and the hop count survive the round trip and are checked; the comparison names differences.
TEST(ServiceVerify, KeysWorkItemsAndComparison) {
  const std::string key = DedupeKey(kSha, {}, kFp);
  EXPECT_TRUE(IsVerifyKey(VerifyKey(key)));
  for (const std::string& bad : std::vector<std::string>{key, ".verify", "x.verify", key + ".verify.verify", key + ".Verify"}) {
    EXPECT_FALSE(IsVerifyKey(bad)) << bad;
  }
  WorkItem w{VerifyKey(key), 7, kSha, "a.exe", {}, kFp, "node-a", 3};
  auto back = ParseWork(WorkJson(w));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->key, VerifyKey(key));
  EXPECT_EQ(back->avoid_worker, "node-a");
  EXPECT_EQ(back->hops, 3);
  for (json bad : {json("x"), json(-1), json(kMaxVerifyHops + 1)}) {
    json j = WorkJson(w);
    j["hops"] = bad;
    EXPECT_FALSE(ParseWork(j)) << bad.dump();
  }
  json other = WorkJson(w);
  other["key"] = "../" + key + ".verify";
  EXPECT_FALSE(ParseWork(other));
  EXPECT_FALSE(WorkJson(WorkItem{key, 7, kSha, "a.exe", {}, kFp}).contains("avoid_worker")) << "plain work carries no verification fields";

  ResultRecord a;
  a.state = TaskState::kDone, a.worker = "node-a", a.verdict = "malicious", a.score = 8, a.techniques = {"T1059", "T1105"};
  a.fingerprint = kFp;
  ResultRecord b = a;
  b.worker = "node-b";
  json same = VerificationJson(a, b);
  EXPECT_EQ(same["agree"], true) << same.dump();
  EXPECT_EQ(same["other_worker"], true);
  b.verdict = "suspicious", b.score = 5, b.techniques = {"T1059", "T1070.004"};
  json diff = VerificationJson(a, b);
  EXPECT_EQ(diff["agree"], false);
  std::string text = diff["differences"].dump();
  for (const char* want : {"verdict: malicious then suspicious", "score: 8 then 5", "T1105 only in the original", "T1070.004 only in the re-run"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << " in " << text;
  }
  b.state = TaskState::kRunning;
  EXPECT_FALSE(VerificationJson(a, b).contains("agree")) << "no comparison before the re-run is done";
}

TEST(ServiceTaskId, OnlyPlainPositiveNumbers) {
  EXPECT_EQ(ParseTaskId("42"), 42u);
  for (const char* bad : {"", "0", "042", "-1", "+1", "1e3", "abc", "99999999999999999", "9007199254740993"}) {
    EXPECT_FALSE(ParseTaskId(bad)) << bad;
  }
}

TEST(ServiceApiKeys, HashedRolesAndMalformedLines) {
  std::string admin = NewApiKey(), reader = NewApiKey();
  EXPECT_TRUE(admin.starts_with("alk_"));
  EXPECT_EQ(admin.size(), 68u);
  std::string file = "# keys\n" + KeyLine(Role::kAdmin, "ops", admin) + "\n" + KeyLine(Role::kRead, "dash", reader);
  EXPECT_EQ(file.find(admin), std::string::npos) << "a key file must not hold the key itself";
  auto ring = KeyRing::Parse(file);
  ASSERT_TRUE(ring) << ring.error().message();
  EXPECT_EQ(ring->size(), 2u);
  ASSERT_TRUE(ring->Find(admin));
  EXPECT_EQ(ring->Find(admin)->role, Role::kAdmin);
  EXPECT_EQ(ring->Find(reader)->name, "dash");
  EXPECT_FALSE(ring->Find(admin + "x"));
  EXPECT_FALSE(ring->Find(""));
  EXPECT_FALSE(ring->Find(HashApiKey(admin))) << "the stored hash is not itself a key";
  auto bad = KeyRing::Parse("admin ops nothex\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("line 1"), std::string::npos);
  EXPECT_FALSE(KeyRing::Parse("root ops " + HashApiKey("k") + "\n"));
  EXPECT_EQ(PresentedKey("Bearer abc", ""), "abc");
  EXPECT_EQ(PresentedKey("Token abc", ""), "abc");
  EXPECT_EQ(PresentedKey("", "abc"), "abc");
  EXPECT_EQ(PresentedKey("Basic abc", ""), "");
}

TEST(ServiceRateLimit, BurstThenRefillAndPerKey) {
  RateLimiter rl(2, 3);
  auto t = RateLimiter::Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(rl.Take("a", t), 0);
  int wait = rl.Take("a", t);
  EXPECT_GE(wait, 1);
  EXPECT_EQ(rl.Take("b", t), 0) << "buckets are per key";
  EXPECT_EQ(rl.Take("a", t + std::chrono::milliseconds(500)), 0) << "one token back after 1/rate s";
  EXPECT_GE(rl.Take("a", t + std::chrono::milliseconds(500)), 1);
}

// A submission's write that answered with an error yet landed (a timeout in a leader election) is
// recognised as its own: its work is still queued (it was not, and the task stayed queued forever).
TEST(ServiceQueue, AFoundRecordIsOursSharedOrReplaced) {
  ResultRecord mine;
  mine.task = 1;
  mine.sha256 = kSha;
  mine.queued_at = "2026-12-07 03:53:35.787";
  const std::string ours = DumpJson(ResultJson(mine));
  EXPECT_EQ(JudgeFoundRecord(ours, ours, false), FoundRecord::kOurs);
  EXPECT_EQ(JudgeFoundRecord(ours, ours, true), FoundRecord::kOurs);
  ResultRecord other = mine;
  other.task = 2;
  EXPECT_EQ(JudgeFoundRecord(DumpJson(ResultJson(other)), ours, false), FoundRecord::kShare) << "queued by another";
  other.state = TaskState::kRunning;
  EXPECT_EQ(JudgeFoundRecord(DumpJson(ResultJson(other)), ours, false), FoundRecord::kShare);
  other.state = TaskState::kDone;
  EXPECT_EQ(JudgeFoundRecord(DumpJson(ResultJson(other)), ours, false), FoundRecord::kShare);
  EXPECT_EQ(JudgeFoundRecord(DumpJson(ResultJson(other)), ours, true), FoundRecord::kReplace) << "verified again";
  other.state = TaskState::kFailed;
  EXPECT_EQ(JudgeFoundRecord(DumpJson(ResultJson(other)), ours, false), FoundRecord::kReplace);
  EXPECT_EQ(JudgeFoundRecord("{not json", ours, false), FoundRecord::kReplace);
}

TEST(ServiceIndex, StateFromResultAndSearch) {
  TaskIndex idx;
  TaskRecord a{1, "k1", kSha, "Invoice.PDF", 1, {}, "t1", "x"};
  TaskRecord b{2, "k1", kSha, "copy.pdf", 1, {}, "t2", "x"};
  TaskRecord c{3, "k2", Sha256Hex("c"), "tool.sh", 1, {TaskKind::kDetonate, 60}, "t3", "x"};
  for (const auto& t : {a, b, c}) idx.PutTask(t);
  EXPECT_EQ(idx.Get(2)->State(), TaskState::kQueued);
  ResultRecord r;
  r.state = TaskState::kDone;
  r.task = 1;
  r.verdict = "malicious";
  r.techniques = {"T1059.004"};
  r.duration_ms = 1500;
  idx.PutResult("k1", r, 7);
  idx.PutResult("k1", r, 7);  // a repeated watch event counts once
  EXPECT_EQ(idx.Get(2)->State(), TaskState::kDone) << "a duplicate shares its key's result";
  ResultRecord stale = r;
  stale.state = TaskState::kQueued;
  idx.PutResult("k1", stale, 5);  // a submission that read revision 5 before the watcher delivered 7
  EXPECT_EQ(idx.Get(2)->State(), TaskState::kDone) << "an older revision never replaces a newer one";
  auto by_state = idx.TasksByState();
  EXPECT_EQ(by_state["done"], 2u);
  EXPECT_EQ(by_state["queued"], 1u);
  EXPECT_EQ(idx.AnalysisDurations()["static"].count, 1u);
  SearchQuery q;
  q.technique = "T1059";
  EXPECT_EQ(idx.Search(q).size(), 2u) << "a technique matches its sub-techniques";
  q = {};
  q.name = "invoice";
  ASSERT_EQ(idx.Search(q).size(), 1u);
  EXPECT_EQ(idx.Search(q)[0].task.id, 1u);
  q = {};
  q.verdict = "malicious";
  q.limit = 1;
  ASSERT_EQ(idx.Search(q).size(), 1u);
  EXPECT_EQ(idx.Search(q)[0].task.id, 2u) << "newest first";
  EXPECT_FALSE(ParseSearchQuery({{"verdict", "evil"}}));
  EXPECT_FALSE(ParseSearchQuery({{"sha", "x"}}));
  EXPECT_FALSE(ParseSearchQuery({{"limit", "5000"}}));
  EXPECT_TRUE(ParseSearchQuery({{"sha256", kSha}, {"state", "done"}, {"limit", "5"}}));
  idx.DeleteTask(1);
  EXPECT_FALSE(idx.Get(1));
}

TEST(ServiceWorker, SafeSampleNames) {
  EXPECT_EQ(SafeSampleName("a/b/evil.exe"), "evil.exe");
  EXPECT_EQ(SafeSampleName("../.."), "sample");
  EXPECT_EQ(SafeSampleName(""), "sample");
  EXPECT_EQ(SafeSampleName("-rf"), "s-rf");
  EXPECT_EQ(SafeSampleName(".bashrc"), "s.bashrc");
  EXPECT_EQ(SafeSampleName("na me\n;$(x).js"), "namex.js");
  EXPECT_EQ(SafeSampleName(std::string(500, 'a')).size(), 100u);
}

}  // namespace
}  // namespace airlock::service
