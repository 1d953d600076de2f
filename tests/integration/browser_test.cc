// The browser runner of `airlock analyze`: HTML and SVG opened in headless Chromium inside the
// analysis sandbox by airlock-browse, downloads made by page scripts captured, triaged and judged.
// Real Chromium (Debian package), real sandbox, real monitor; skips loudly without Chromium.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "test_env.h"

using namespace airlock::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Analysis {
  RunResult run;
  json report;
  std::string dir;
};

// Analyzes a sample of tests/samples/analyze, staged where the (possibly unprivileged) user can read it.
Analysis Analyze(const std::string& name) {
  Analysis a;
  a.dir = MakeTempDir("browser");
  std::string sample = a.dir + "/" + name;
  WriteFile(sample, ReadFileOrEmpty(SourceDir() + "/tests/samples/analyze/" + name), 0644);
  a.run = Run({AirlockBin(), "analyze", "--quiet", "--timeout", "40s", "--out", a.dir + "/report", sample}, "", 240);
  a.report = json::parse(ReadFileOrEmpty(a.dir + "/report/report.json"), nullptr, false);
  return a;
}

bool HasTechnique(const json& report, const std::string& t) {
  for (const auto& x : report["techniques"])
    if (x == t) return true;
  return false;
}

const json* FindDropped(const json& report, const std::string& path) {
  for (const auto& d : report["dropped"])
    if (d["path"] == path) return &d;
  return nullptr;
}

class Browser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "SKIPPED: Debian package chromium is not installed";
  }
};

}  // namespace

TEST_F(Browser, HtmlSmugglingDownloadIsCapturedListedAndTriaged) {
  Analysis a = Analyze("html_smuggling_zip.html");
  ASSERT_TRUE(a.report.is_object()) << a.run.err;
  EXPECT_EQ(a.report["runner"]["kind"], "browser");
  EXPECT_EQ(a.report["run"]["reason"], "ok") << "the page must end by itself, not by the sandbox timeout";
  const json& b = a.report["browser"];
  EXPECT_EQ(b["ended"], "settled") << b.dump();
  EXPECT_EQ(b["loaded"], true);
  ASSERT_EQ(b["downloads"].size(), 1u) << b.dump();
  EXPECT_EQ(b["downloads"][0]["state"], "completed");
  EXPECT_EQ(b["downloads"][0]["suggested_name"], "Invoice_2026.zip");
  EXPECT_EQ(b["downloads"][0]["url"].get<std::string>().rfind("blob:", 0), 0u);
  const json* d = FindDropped(a.report, "/tmp/downloads/Invoice_2026.zip");
  ASSERT_TRUE(d) << a.report["dropped"].dump();
  EXPECT_EQ((*d)["size"], 167);
  EXPECT_EQ((*d)["sha256"].get<std::string>().size(), 64u) << "the download was statically triaged";
  EXPECT_EQ((*d)["download"]["suggested_name"], "Invoice_2026.zip");
  bool hit = false;
  for (const auto& m : a.report["behavior"]["matches"]) hit |= m["rule_id"] == "airlock-browser-scripted-download" && m["level"] == "high";
  EXPECT_TRUE(hit) << a.report["behavior"]["matches"].dump();
  EXPECT_EQ(a.report["verdict"], "malicious");
  EXPECT_TRUE(HasTechnique(a.report, "T1027.006"));
  EXPECT_EQ(a.run.exit_code, 1) << a.run.err;
  // Only the download is a dropped file: Chromium's own profile, caches and HOME are not.
  for (const auto& x : a.report["dropped"]) EXPECT_EQ(x["path"].get<std::string>().rfind("/tmp/downloads/", 0), 0u) << x.dump();
  fs::remove_all(a.dir);
}

TEST_F(Browser, ObfuscatedSmugglingIsCaughtOnlyByRunningThePage) {
  Analysis a = Analyze("html_smuggling_obfuscated.html");
  ASSERT_TRUE(a.report.is_object()) << a.run.err;
  // Nothing literal for static patterns: the verdict comes from the captured download.
  EXPECT_EQ(a.report["static"]["verdict"], "clean") << a.report["static"].dump();
  const json& b = a.report["browser"];
  ASSERT_EQ(b["downloads"].size(), 1u) << b.dump();
  // Chromium may add an extension to the suggested name (a Blob without a type is text/plain).
  std::string path = b["downloads"][0]["path"];
  EXPECT_EQ(path.rfind("/tmp/downloads/tracking-tool", 0), 0u) << path;
  const json* d = FindDropped(a.report, path);
  ASSERT_TRUE(d) << a.report["dropped"].dump();
  EXPECT_EQ((*d)["size"], 129);
  bool hit = false;
  for (const auto& m : a.report["behavior"]["matches"]) {
    if (m["rule_id"] != "airlock-browser-scripted-download") continue;
    hit = true;
    EXPECT_EQ(m["event"]["content"], "ELF executable") << m.dump();
  }
  EXPECT_TRUE(hit) << a.report["behavior"]["matches"].dump();
  EXPECT_EQ(a.report["verdict"], "malicious");
  EXPECT_TRUE(HasTechnique(a.report, "T1027.006"));
  fs::remove_all(a.dir);
}

TEST_F(Browser, ADownloadHeldBackByALongTimerIsCapturedOnVirtualTime) {
  // The page waits 90 s of page time before it drops its payload, longer than the whole analysis
  // (40 s timeout): only because page timers run on virtual time does the download happen.
  Analysis a = Analyze("html_smuggling_delayed.html");
  ASSERT_TRUE(a.report.is_object()) << a.run.err;
  EXPECT_EQ(a.report["static"]["verdict"], "clean") << a.report["static"].dump();
  EXPECT_EQ(a.report["run"]["reason"], "ok");
  const json& b = a.report["browser"];
  EXPECT_EQ(b["ended"], "settled") << b.dump();
  ASSERT_EQ(b["downloads"].size(), 1u) << b.dump();
  EXPECT_EQ(b["downloads"][0]["state"], "completed");
  ASSERT_TRUE(FindDropped(a.report, "/tmp/downloads/viewer-plugin")) << a.report["dropped"].dump();
  EXPECT_EQ(a.report["verdict"], "malicious");
  fs::remove_all(a.dir);
}

TEST_F(Browser, SvgSmugglingDownloadIsCapturedWithTheSvgTechnique) {
  Analysis a = Analyze("svg_smuggling_elf.svg");
  ASSERT_TRUE(a.report.is_object()) << a.run.err;
  EXPECT_EQ(a.report["runner"]["kind"], "browser");
  ASSERT_TRUE(FindDropped(a.report, "/tmp/downloads/viewer-update")) << a.report["dropped"].dump();
  bool hit = false;
  for (const auto& m : a.report["behavior"]["matches"]) {
    if (m["rule_id"] != "airlock-browser-svg-scripted-download") continue;
    hit = true;
    EXPECT_EQ(m["techniques"], json::array({"T1027.017"}));
  }
  EXPECT_TRUE(hit) << a.report["behavior"]["matches"].dump();
  EXPECT_EQ(a.report["verdict"], "malicious");
  EXPECT_TRUE(HasTechnique(a.report, "T1027.017"));
  fs::remove_all(a.dir);
}

TEST_F(Browser, LegitimateDownloadButtonStaysCleanAndTheAnalysisEndsByItself) {
  Analysis a = Analyze("benign_download_button.html");
  ASSERT_TRUE(a.report.is_object()) << a.run.err;
  EXPECT_EQ(a.report["run"]["reason"], "ok");
  const json& b = a.report["browser"];
  EXPECT_EQ(b["ended"], "settled") << b.dump();
  EXPECT_EQ(b["loaded"], true);
  EXPECT_TRUE(b["downloads"].empty()) << "nobody clicks in the sandbox: " << b.dump();
  EXPECT_TRUE(a.report["dropped"].empty()) << a.report["dropped"].dump();
  // Chromium's own processes (zygote, renderer, GPU/utility helpers) must not match any rule.
  EXPECT_GT(a.report["behavior"]["events"].get<int>(), 0);
  EXPECT_TRUE(a.report["behavior"]["matches"].empty()) << a.report["behavior"]["matches"].dump();
  EXPECT_EQ(a.report["verdict"], "clean");
  EXPECT_EQ(a.run.exit_code, 0) << a.run.err;
  fs::remove_all(a.dir);
}
