// The airlock-audit binary: human and JSON output, --min-score, exit statuses.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "audit_test_util.h"
#include "test_env.h"

namespace airlock::audit {
namespace {

using test::DataPath;
using test::SamplePath;

// A std::vector, so the call is not mistaken for gtest's private Test::Run().
airlock::test::RunResult Audit(std::vector<std::string> argv) { return airlock::test::Run(argv); }

TEST(AuditCli, JsonForProfilesAndManifests) {
  auto r = Audit({AIRLOCK_AUDIT_BIN, "--json", "default", DataPath("host-weak.toml"), SamplePath("multi-document.yaml")});
  ASSERT_EQ(r.exit_code, 1) << r.err;  // host-weak grades F: fails by default (issue 18: F used to exit 0)
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["targets"].size(), 4u);
  EXPECT_EQ(j["targets"][0]["target"], "default");
  EXPECT_EQ(j["targets"][0]["kind"], "profile");
  EXPECT_EQ(j["targets"][0]["grade"], "A");
  EXPECT_EQ(j["targets"][1]["grade"], "F");
  EXPECT_EQ(j["targets"][1]["score"], 0);
  EXPECT_EQ(j["targets"][2]["kind"], "kubernetes");
  const auto& f = j["targets"][1]["findings"][0];
  // The common finding fields (docs/REPORT.md "The report envelope"), the audit's own, and the
  // deprecated aliases id and technique.
  for (const char* key : {"rule", "severity", "techniques", "evidence", "object", "level", "title", "remediation", "id", "technique"}) {
    EXPECT_TRUE(f.contains(key)) << key;
  }
  EXPECT_EQ(f["severity"], 10);
  EXPECT_EQ(f["level"], "critical");
  EXPECT_EQ(j["command"], "audit");
}

TEST(AuditCli, MinScoreDecidesTheExitStatus) {
  EXPECT_EQ(Audit({AIRLOCK_AUDIT_BIN, "--min-score", "90", "default", "analysis"}).exit_code, 0);
  // Without --min-score a grade F fails (default 25); --min-score 0 never fails.
  EXPECT_EQ(Audit({AIRLOCK_AUDIT_BIN, DataPath("host-weak.toml")}).exit_code, 1);
  EXPECT_EQ(Audit({AIRLOCK_AUDIT_BIN, "--min-score", "0", DataPath("host-weak.toml")}).exit_code, 0);
  EXPECT_EQ(Audit({AIRLOCK_AUDIT_BIN, "default"}).exit_code, 0);
  EXPECT_EQ(Audit({AIRLOCK_AUDIT_BIN, "--min-score", "90", "default", SamplePath("privileged-pod.yaml")}).exit_code, 1);
  EXPECT_EQ(Audit({AIRLOCK_AUDIT_BIN, "--min-score", "100", SamplePath("restricted-deployment.yaml")}).exit_code, 0);
}

TEST(AuditCli, HumanTableSortedBySeverity) {
  auto r = Audit({AIRLOCK_AUDIT_BIN, SamplePath("privileged-pod.yaml")});
  ASSERT_EQ(r.exit_code, 1) << r.err;  // grade F fails by default
  EXPECT_NE(r.out.find("grade F"), std::string::npos) << r.out;
  size_t critical = r.out.find("critical");
  size_t low = r.out.find("low ");
  ASSERT_NE(critical, std::string::npos);
  ASSERT_NE(low, std::string::npos);
  EXPECT_LT(critical, low);
}

TEST(AuditCli, ErrorsExitTwoWithFileAndLine) {
  auto bad = Audit({AIRLOCK_AUDIT_BIN, SamplePath("malformed.yaml")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("malformed.yaml:9:"), std::string::npos) << bad.err;
  auto missing = Audit({AIRLOCK_AUDIT_BIN, "default", "/nonexistent/profile.toml"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("/nonexistent/profile.toml"), std::string::npos) << missing.err;
  std::string dir = airlock::test::MakeTempDir("audit-cli");
  airlock::test::WriteFile(dir + "/broken.toml", "[limits]\nmemory = \"12q\"\n");
  auto toml = Audit({AIRLOCK_AUDIT_BIN, dir + "/broken.toml"});
  EXPECT_EQ(toml.exit_code, 2);
  EXPECT_NE(toml.err.find("broken.toml:2:"), std::string::npos) << toml.err;
  EXPECT_EQ(Audit({AIRLOCK_AUDIT_BIN}).exit_code, 2);  // a target is required
  EXPECT_EQ(Audit({AIRLOCK_AUDIT_BIN, "--min-score", "101", "default"}).exit_code, 2);
  EXPECT_EQ(Audit({AIRLOCK_AUDIT_BIN, "--help"}).exit_code, 0);
}

TEST(AuditCli, HostileStringsAreNeutralised) {
  std::string dir = airlock::test::MakeTempDir("audit-hostile");
  // A container name with a terminal escape and an invalid UTF-8 byte.
  airlock::test::WriteFile(dir + "/evil.yaml",
                           "kind: Pod\nmetadata: {name: \"x\\e]0;owned\\a\"}\nspec:\n  containers:\n"
                           "    - name: \"\\e[31mred\xff\"\n      securityContext: {privileged: true}\n");
  auto text = Audit({AIRLOCK_AUDIT_BIN, "--min-score", "0", dir + "/evil.yaml"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out.find('\x1b'), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\\x1b"), std::string::npos) << text.out;
  auto json = Audit({AIRLOCK_AUDIT_BIN, "--json", dir + "/evil.yaml"});
  ASSERT_EQ(json.exit_code, 1) << json.err;  // grade F
  auto j = nlohmann::json::parse(json.out);  // valid JSON despite the invalid byte
  EXPECT_EQ(j["targets"][0]["grade"], "F");
}

}  // namespace
}  // namespace airlock::audit
