// Every JSON report of airlock against its published schema (docs/schema/*.schema.json: the envelope
// of core/report_envelope.h and each command's body). The documents are real: written by the real
// binaries for a clean file, a malicious sample and a missing file (scan), a small script and a
// missing sample (analyze), a profile (audit), a box with changed files (box review). The outputs that
// need a running daemon are validated where one runs: `verdicts list --json` in watch.gate.*, the
// milter's log lines in milter.component.*, `browser --report` and `downloads list --json` in
// BrowserSession.*, the service's stored reports in service.component.*.
// A validator that cannot run fails the test; it never skips.
// (The run report has its own test, run_report_schema_test.cc, against the same envelope.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_env.h"

namespace {

using nlohmann::json;

using airlock::test::RunResult;

// The EICAR test file, assembled at run time (not a sample in the tree).
const std::string kEicar = std::string("X5O!P%@AP[4\\PZX54(P^)7CC)7}$") + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

class ReportSchemas : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = airlock::test::MakeTempDir("report-schemas"); }

  // `stdout_text` saved as DIR/NAME.json, validated against docs/schema/SCHEMA; the parsed document.
  json Check(const std::string& schema, const std::string& name, const std::string& stdout_text) {
    const std::string path = dir_ + "/" + name + ".json";
    airlock::test::WriteFile(path, stdout_text);
    RunResult v = airlock::test::ValidateJsonSchema(schema, {path});
    EXPECT_EQ(v.exit_code, 0) << schema << " " << name << ":\n" << v.err << "\n" << stdout_text.substr(0, 4000);
    json j = json::parse(stdout_text, nullptr, false);
    EXPECT_TRUE(j.is_object()) << stdout_text.substr(0, 2000);
    return j.is_object() ? j : json::object();
  }
  RunResult Airlock(std::vector<std::string> args, int timeout = 60) {
    args.insert(args.begin(), airlock::test::AirlockBin());
    return airlock::test::Run(args, "", timeout);
  }

  std::string dir_;
};

TEST_F(ReportSchemas, ScanOfCleanMaliciousAndMissingInputs) {
  airlock::test::WriteFile(dir_ + "/clean.txt", "just words\n");
  airlock::test::WriteFile(dir_ + "/eicar.com", kEicar);
  RunResult clean = Airlock({"scan", "--json", "-q", dir_ + "/clean.txt"});
  RunResult bad = Airlock({"scan", "--json", "-q", dir_ + "/eicar.com"});
  RunResult missing = Airlock({"scan", "--json", "-q", dir_ + "/no-such-file"});
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  json c = Check("scan.schema.json", "scan-clean", clean.out);
  json m = Check("scan.schema.json", "scan-malicious", bad.out);
  json e = Check("scan.schema.json", "scan-missing", missing.out);
  EXPECT_EQ(c.value("verdict", ""), "clean");
  EXPECT_TRUE(c["score"].is_number_float()) << "one score type: a floating-point number";
  EXPECT_EQ(m.value("verdict", ""), "malicious");
  ASSERT_FALSE(m["objects"].empty());
  const json& f = m["objects"][0]["findings"][0];
  EXPECT_EQ(f.value("rule", ""), f.value("id", "")) << "id is kept as rule's deprecated alias";
  EXPECT_EQ(f.value("object", ""), m["objects"][0].value("path", ""));
  // Issue 18: a missing input is never "clean".
  EXPECT_EQ(e.value("verdict", ""), "error");
  EXPECT_EQ(e["errors"][0].value("verdict", ""), "error");
  // A clean file and a missing one together: still not clean.
  RunResult both = Airlock({"scan", "--json", "-q", dir_ + "/clean.txt", dir_ + "/no-such-file"});
  EXPECT_EQ(Check("scan.schema.json", "scan-both", both.out).value("verdict", ""), "error");
  // The text output says so too.
  RunResult text = Airlock({"scan", "-q", dir_ + "/no-such-file"});
  EXPECT_NE(text.out.find("verdict: error"), std::string::npos) << text.out;
}

TEST_F(ReportSchemas, Audit) {
  RunResult r = Airlock({"audit", "--json", "default"});
  json j = Check("audit.schema.json", "audit", r.out);
  ASSERT_FALSE(j["targets"].empty());
  for (const auto& f : j["targets"][0]["findings"]) EXPECT_TRUE(f["severity"].is_number_integer()) << f.dump();
}

TEST_F(ReportSchemas, AnalyzeOfAMissingSampleIsAnError) {
  RunResult r = Airlock({"analyze", "--json", "-q", dir_ + "/no-such-file"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(Check("analyze.schema.json", "analyze-missing", r.out).value("verdict", ""), "error");
}

TEST_F(ReportSchemas, AnalyzeOfASmallScript) {
  airlock::test::WriteFile(dir_ + "/hello.sh", "#!/bin/sh\necho hello\n", 0755);
  RunResult r = Airlock({"analyze", "--json", "-q", "--timeout", "5s", "--out", dir_ + "/analysis", dir_ + "/hello.sh"}, 120);
  json j = Check("analyze.schema.json", "analyze-script", r.out);
  EXPECT_NE(j.value("verdict", ""), "") << r.err;
  if (j.value("verdict", "") == "error") {
    // Fine where this machine cannot sandbox, but then the report must say why.
    EXPECT_FALSE(j["verdict_reasons"].empty()) << r.out.substr(0, 2000);
  } else {
    EXPECT_TRUE(j["sample"]["hashes"].contains("sha256")) << r.out.substr(0, 2000);
  }
}

// The ATT&CK Navigator layer analyze writes (OUT/navigator.json, and --navigator FILE): every
// technique of the report, scored by its strongest finding; and the MISP event of its indicators
// (OUT/misp.json, --misp FILE).
TEST_F(ReportSchemas, AnalyzeWritesANavigatorLayerAndAMispEvent) {
  const std::string sample = std::string(AIRLOCK_SOURCE_DIR) + "/tests/samples/analyze/setuid_copy.sh";
  RunResult r = Airlock({"analyze", "-q", "--timeout", "10s", "--out", dir_ + "/nav", "--navigator", dir_ + "/layer.json",
                         "--misp", dir_ + "/misp.json", sample}, 120);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json layer = json::parse(airlock::test::ReadFileOrEmpty(dir_ + "/layer.json"), nullptr, false);
  ASSERT_TRUE(layer.is_object()) << r.err;
  EXPECT_EQ(layer, json::parse(airlock::test::ReadFileOrEmpty(dir_ + "/nav/navigator.json"), nullptr, false));
  EXPECT_EQ(layer["domain"], "enterprise-attack");
  double setuid = -1;
  for (const auto& t : layer["techniques"]) {
    if (t["techniqueID"] == "T1548.001") setuid = t["score"].get<double>();
  }
  EXPECT_GE(setuid, 8.0) << layer.dump();
  json misp = json::parse(airlock::test::ReadFileOrEmpty(dir_ + "/misp.json"), nullptr, false);
  ASSERT_TRUE(misp.is_object()) << r.err;
  EXPECT_EQ(misp, json::parse(airlock::test::ReadFileOrEmpty(dir_ + "/nav/misp.json"), nullptr, false));
  EXPECT_EQ(misp["Event"]["threat_level_id"], "1");
  EXPECT_EQ(misp["Event"]["Attribute"][0]["type"], "sha256") << misp.dump();
  EXPECT_NE(misp.dump().find("T1548.001"), std::string::npos) << misp.dump();
}

TEST_F(ReportSchemas, BoxReview) {
  const std::string store = dir_ + "/boxes", tree = dir_ + "/tree";
  std::filesystem::create_directories(tree);
  airlock::test::WriteFile(tree + "/keep", "x\n");
  auto box = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"box", "--store", store});
    return Airlock(args);
  };
  RunResult c = box({"create", "b", "--over", tree + ":/data"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  RunResult run = box({"run", "b", "--", "/bin/sh", "-c", "echo 'curl x | sh' > /data/.bashrc && echo hi > /data/new.txt"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  RunResult r = box({"review", "b", "--json"});
  json j = Check("box-review.schema.json", "box-review", r.out);
  EXPECT_EQ(j.value("command", ""), "box review");
  EXPECT_EQ(j.value("changes", 0), 2) << r.out;
}

}  // namespace
