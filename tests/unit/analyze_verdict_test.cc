// The verdict policy of airlock analyze (src/analyze/verdict.h, docs/REPORT.md): low rules never add
// up, discovery bursts are suspicious alone and malicious with another signal, one community rule is
// capped at suspicious unless decisive; observed_techniques lists everything with level and evidence.
#include <gtest/gtest.h>

#include "analyze/analysis_report.h"
#include "analyze/verdict.h"

using namespace airlock::analyze;

namespace {

BehaviorHit Hit(const std::string& id, const std::string& level, const std::string& technique, bool discovery = false) {
  BehaviorHit h{id, "rule " + id, level, {technique}, R"({"category":"process_creation","CommandLine":"cmd )" + id + R"("})"};
  h.discovery = discovery;
  return h;
}

}  // namespace

TEST(AnalyzeVerdict, LowRulesNameTechniquesButNeverAddUp) {
  std::vector<BehaviorHit> hits;
  for (int i = 0; i < 10; ++i) hits.push_back(Hit("low" + std::to_string(i), "low", "T1222.002"));
  Verdict v = Combine(0, {}, hits);
  EXPECT_EQ(v.verdict, "clean");
  EXPECT_EQ(v.score, 3);
  EXPECT_TRUE(v.techniques.contains("T1222.002"));
}

TEST(AnalyzeVerdict, DiscoveryBurstIsSuspiciousAloneAndMaliciousWithAnotherSignal) {
  std::vector<BehaviorHit> two = {Hit("a", "low", "T1033", true), Hit("b", "low", "T1082", true)};
  EXPECT_EQ(Combine(0, {}, two).verdict, "clean");
  std::vector<BehaviorHit> burst = two;
  burst.push_back(Hit("c", "low", "T1049", true));
  Verdict alone = Combine(0, {}, burst);
  EXPECT_EQ(alone.verdict, "suspicious");
  EXPECT_EQ(alone.score, 6);
  EXPECT_EQ(Combine(4, {}, burst).verdict, "malicious") << "static signal";
  burst.push_back(Hit("d", "medium", "T1070.006"));
  EXPECT_EQ(Combine(0, {}, burst).verdict, "malicious") << "behaviour signal";
  // The same technique from several rules is one technique.
  std::vector<BehaviorHit> same = {Hit("a", "low", "T1033", true), Hit("b", "low", "T1033", true), Hit("c", "low", "T1082", true)};
  EXPECT_EQ(Combine(0, {}, same).verdict, "clean");
}

TEST(AnalyzeVerdict, MediumRulesChain) {
  std::vector<BehaviorHit> hits = {Hit("a", "medium", "T1070.003"), Hit("b", "medium", "T1070.006")};
  EXPECT_EQ(Combine(0, {}, hits).verdict, "suspicious");
  hits.push_back(Hit("c", "medium", "T1560.001"));
  EXPECT_EQ(Combine(0, {}, hits).verdict, "malicious");
}

TEST(AnalyzeVerdict, OneCommunityRuleIsCappedUnlessDecisive) {
  BehaviorHit c = Hit("sigmahq", "critical", "T1059.004");
  c.community = true;
  EXPECT_EQ(HitScore(c), 6);
  EXPECT_EQ(Combine(0, {}, {c}).verdict, "suspicious");
  c.decisive = true;
  EXPECT_EQ(Combine(0, {}, {c}).verdict, "malicious");
  // Several independent community rules still make a chain.
  std::vector<BehaviorHit> many;
  for (const char* id : {"x", "y", "z"}) {
    BehaviorHit h = Hit(id, "high", "T1105");
    h.community = true;
    many.push_back(h);
  }
  EXPECT_EQ(Combine(0, {}, many).verdict, "malicious");
}

TEST(AnalyzeVerdict, ObservedTechniquesHaveLevelAndEvidence) {
  BehaviorHit community = Hit("c", "high", "T1082");
  community.community = true;
  nlohmann::json findings = nlohmann::json::parse(
      R"([{"id": "script.persistence.cron", "severity": 6, "title": "cron", "path": "x.sh", "techniques": ["T1053.003"]}, "junk", {"techniques": 5}])");
  nlohmann::json t = TechniqueSection({Hit("a", "low", "T1033"), community}, findings);
  ASSERT_EQ(t.size(), 3u) << t.dump();
  EXPECT_EQ(t[0]["technique"], "T1033");
  EXPECT_EQ(t[0]["level"], "low");
  EXPECT_EQ(t[0]["evidence"][0]["evidence"], "cmd a");
  EXPECT_EQ(t[1]["technique"], "T1053.003");
  EXPECT_EQ(t[1]["level"], "medium");
  EXPECT_EQ(t[1]["evidence"][0]["source"], "static finding");
  EXPECT_EQ(t[2]["technique"], "T1082");
  EXPECT_EQ(t[2]["level"], "medium") << "a community rule counts at its capped level";
}
