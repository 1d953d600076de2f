#include <gtest/gtest.h>

#include "milter/assess.h"

namespace airlock::milter {
namespace {

using nlohmann::json;

json Report() {
  return json::parse(R"({
    "verdict": "malicious", "score": 10, "techniques": ["T1566.001", "T1204.002"],
    "objects": [{"name": "message.eml", "children": [
      {"name": "part-1.txt", "type": {"mime": "text/plain"}, "hashes": {"sha256": "aa"}, "verdict": "clean", "score": 0, "techniques": []},
      {"name": "invoice.zip", "type": {"mime": "application/zip"}, "hashes": {"sha256": "bb"}, "verdict": "malicious", "score": 10,
       "techniques": ["T1204.002"], "children": [{"name": "eicar.com"}]},
      {"name": "odd.js", "type": {"mime": "text/plain"}, "hashes": {"sha256": "cc"}, "verdict": "suspicious", "score": 5, "techniques": ["T1059.007"]}
    ]}]})");
}

TEST(Assess, AttachmentsAreTheDirectPartsJudgedOverTheirSubtree) {
  MessageAssessment a = AssessReport(Report());
  EXPECT_EQ(a.verdict, "malicious");
  EXPECT_DOUBLE_EQ(a.score, 10);
  EXPECT_EQ(a.techniques, (std::vector<std::string>{"T1204.002", "T1566.001"}));
  ASSERT_EQ(a.attachments.size(), 3u);
  EXPECT_EQ(a.attachments[1].name, "invoice.zip");
  EXPECT_EQ(a.attachments[1].verdict, "malicious");
  EXPECT_EQ(a.attachments[1].type, "application/zip");
  // Round trip through the cache's JSON.
  MessageAssessment b = AssessmentFromJson(AssessmentToJson(a));
  EXPECT_EQ(b.verdict, a.verdict);
  ASSERT_EQ(b.attachments.size(), 3u);
  EXPECT_EQ(b.attachments[2].techniques, (std::vector<std::string>{"T1059.007"}));
}

TEST(Assess, MalformedReportsAreErrorsNotCleanNotACrash) {
  // Fail closed (issue 18): a report without a verdict judged nothing.
  for (const char* text : {"{}", "{\"objects\": 3}", "{\"objects\": []}", "{\"objects\": [{\"children\": {}}]}",
                           "{\"objects\": [{\"children\": [3]}]}", "{\"verdict\": \"cleanish\"}"}) {
    MessageAssessment a = AssessReport(json::parse(text));
    EXPECT_EQ(a.verdict, "error") << text;
    EXPECT_TRUE(a.attachments.empty()) << text;
    EXPECT_NE(ActionFor(MilterConfig{}, a.verdict), Action::kAccept) << text;
  }
}

TEST(Assess, AnUnjudgeableAttachmentIsNotAcceptedAsClean) {
  // The scan says clean overall, but one attachment could not be judged (verdict "error" or none).
  for (const char* att : {R"({"name": "x.bin", "hashes": {"sha256": "dd"}, "verdict": "error", "score": 0.0})",
                          R"({"name": "y.bin", "hashes": {"sha256": "ee"}, "score": 0.0})"}) {
    json r = json::parse(R"({"verdict": "clean", "score": 0.0, "objects": [{"name": "message.eml", "children": []}]})");
    r["objects"][0]["children"].push_back(json::parse(att));
    MessageAssessment a = AssessReport(r);
    EXPECT_EQ(a.verdict, "error") << att;
    ASSERT_EQ(a.attachments.size(), 1u);
    EXPECT_EQ(a.attachments[0].verdict, "error") << att;
    EXPECT_NE(ActionFor(MilterConfig{}, a.verdict), Action::kAccept) << att;
  }
  // A detonation that could not judge it (analyze's verdict "error") raises a clean message to error;
  // a malicious one still wins.
  MessageAssessment a = AssessReport(Report());
  a.verdict = "clean";
  MergeVerdict(a, "aa", "error", 0, {});
  EXPECT_EQ(a.verdict, "error");
  MergeVerdict(a, "aa", "malicious", 9, {});
  EXPECT_EQ(a.verdict, "malicious");
}

TEST(Assess, DetonationVerdictsOnlyRaise) {
  MessageAssessment a = AssessReport(Report());
  a.verdict = "clean";
  a.score = 0;
  MergeVerdict(a, "aa", "suspicious", 5.5, {"T1003"});
  EXPECT_EQ(a.verdict, "suspicious");
  EXPECT_DOUBLE_EQ(a.score, 5.5);
  EXPECT_EQ(a.attachments[0].verdict, "suspicious");
  MergeVerdict(a, "aa", "clean", 0, {});
  EXPECT_EQ(a.attachments[0].verdict, "suspicious") << "a clean detonation never lowers a static verdict";
  EXPECT_EQ(a.techniques, (std::vector<std::string>{"T1003", "T1204.002", "T1566.001"})) << "united, sorted";
}

TEST(Assess, ActionsAndStripSet) {
  MilterConfig c;
  EXPECT_EQ(ActionFor(c, "malicious"), Action::kReject);
  EXPECT_EQ(ActionFor(c, "suspicious"), Action::kTag);
  EXPECT_EQ(ActionFor(c, "clean"), Action::kAccept);
  MessageAssessment a = AssessReport(Report());
  auto only_bad = StripSet(c, a);
  ASSERT_EQ(only_bad.size(), 1u);
  EXPECT_EQ(only_bad.begin()->first, "bb");
  c.on_suspicious = Action::kStrip;
  auto with_suspicious = StripSet(c, a);
  EXPECT_EQ(with_suspicious.size(), 2u);
  EXPECT_EQ(with_suspicious["cc"].verdict, "suspicious");
}

}  // namespace
}  // namespace airlock::milter
