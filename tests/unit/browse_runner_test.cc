// The analysis side of the browser runner: runner choice and budget, airlock-browse's summary read
// back, downloads turned into behaviour hits (with real files for the content check).
#include <gtest/gtest.h>

#include <filesystem>

#include "analyze/browse_findings.h"
#include "analyze/runner.h"
#include "test_env.h"

using namespace airlock::analyze;
using nlohmann::json;
namespace fs = std::filesystem;

TEST(BrowseRunner, HtmlAndSvgGetTheDriverBoundWithABudget) {
  Runner r = ChooseRunner("<!DOCTYPE html><html>", "page.html", "/usr/bin/chromium", "/build/airlock-browse", 17000);
  EXPECT_EQ(r.kind, "browser");
  ASSERT_FALSE(r.argv.empty());
  EXPECT_EQ(r.argv.front(), kBrowseDriverInSandbox);
  EXPECT_EQ(r.argv.back(), "/sample/page.html");
  auto has = [&](const std::string& a, const std::string& b) {
    for (size_t i = 0; i + 1 < r.argv.size(); ++i)
      if (r.argv[i] == a && r.argv[i + 1] == b) return true;
    return false;
  };
  EXPECT_TRUE(has("--timeout-ms", "17000"));
  EXPECT_TRUE(has("--chromium", "/usr/bin/chromium"));
  EXPECT_TRUE(has("--downloads", kBrowseDownloadsDir));
  ASSERT_EQ(r.ro_binds_at.size(), 1u);
  EXPECT_EQ(r.ro_binds_at[0].first, "/build/airlock-browse");
  EXPECT_EQ(r.ro_binds_at[0].second, kBrowseDriverInSandbox);
  EXPECT_EQ(r.rlimits, (std::vector<std::string>{"as=unlimited"}));
  EXPECT_EQ(ChooseRunner("<svg xmlns=...>", "x.bin", "/usr/bin/chromium", "/d", 1000).kind, "browser");
}

TEST(BrowseRunner, MissingBrowserOrDriverMeansStaticOnly) {
  Runner no_browser = ChooseRunner("<html>", "a.html", "", "/d", 1000);
  EXPECT_EQ(no_browser.kind, "none");
  EXPECT_NE(no_browser.why.find("static analysis only"), std::string::npos);
  Runner no_driver = ChooseRunner("<html>", "a.html", "/usr/bin/chromium", "", 1000);
  EXPECT_EQ(no_driver.kind, "none");
  EXPECT_NE(no_driver.why.find("airlock-browse"), std::string::npos);
  // Classification only (the mail filter): browser chosen, no host bind.
  Runner classify = ChooseRunner("<html>", "a.html", "/usr/bin/chromium");
  EXPECT_EQ(classify.kind, "browser");
  EXPECT_TRUE(classify.ro_binds_at.empty());
}

TEST(BrowseRunner, BudgetLeavesTimeToCloseTheBrowser) {
  EXPECT_EQ(BrowseBudgetMs("20s"), 17000);
  EXPECT_EQ(BrowseBudgetMs("2m"), 117000);
  EXPECT_EQ(BrowseBudgetMs("30"), 27000);
  EXPECT_EQ(BrowseBudgetMs("1500ms"), 2000);
  EXPECT_EQ(BrowseBudgetMs("1h"), 3597000);
  EXPECT_EQ(BrowseBudgetMs("soon"), 30000);
  EXPECT_EQ(BrowseBudgetMs("5x"), 30000);
  EXPECT_EQ(BrowseBudgetMs(""), 30000);
}

TEST(BrowseFindings, SummaryIsTheLastJsonObjectLine) {
  EXPECT_EQ(ParseBrowseSummary("noise\n{\"ended\":\"settled\"}\n")["ended"], "settled");
  EXPECT_EQ(ParseBrowseSummary("{\"a\":1}\n[1]\n{\"b\":2}\ngarbage")["b"], 2);
  EXPECT_TRUE(ParseBrowseSummary("").contains("error"));
  EXPECT_TRUE(ParseBrowseSummary("[1,2]\n").contains("error"));
}

TEST(BrowseFindings, EveryDownloadIsAHitHighForSmuggledPayloads) {
  std::string tmp = airlock::test::MakeTempDir("browse-findings");
  fs::create_directories(tmp + "/downloads");
  airlock::test::WriteFile(tmp + "/downloads/tool", std::string("\x7f" "ELF\x02\x01\x01", 7) + std::string(64, '\0'));
  airlock::test::WriteFile(tmp + "/downloads/notes.txt", "just text\n");
  fs::create_symlink("/bin/sh", tmp + "/downloads/link");  // a symlink is never followed
  json summary = {{"downloads",
                   {{{"url", "http://x.example/tool"}, {"path", "/tmp/downloads/tool"}, {"state", "completed"}},
                    {{"url", "http://x.example/notes.txt"}, {"path", "/tmp/downloads/notes.txt"}, {"state", "completed"}},
                    {{"url", "blob:null/1"}, {"path", ""}, {"state", "canceled"}},
                    {{"url", "http://x.example/l"}, {"path", "/tmp/downloads/link"}, {"state", "completed"}},
                    {{"url", "http://x.example/u"}, {"path", "/tmp/../../etc/passwd"}, {"state", "completed"}}}}};
  auto hits = BrowseHits(summary, false, tmp);
  ASSERT_EQ(hits.size(), 5u);
  EXPECT_EQ(hits[0].level, "high");  // ELF by content
  EXPECT_EQ(json::parse(hits[0].event)["content"], "ELF executable");
  EXPECT_EQ(hits[1].level, "medium");  // plain text from a normal URL: still scripted, not a payload
  EXPECT_EQ(hits[2].level, "high");    // blob: URL: built by the page itself
  EXPECT_EQ(hits[3].level, "medium");  // symlink not followed: content unknown
  EXPECT_EQ(hits[4].level, "medium");  // escaping path refused
  for (const auto& h : hits) {
    EXPECT_EQ(h.rule_id, "airlock-browser-scripted-download");
    EXPECT_EQ(h.techniques, std::vector<std::string>{"T1027.006"});
  }
  auto svg = BrowseHits(summary, true, tmp);
  EXPECT_EQ(svg[0].rule_id, "airlock-browser-svg-scripted-download");
  EXPECT_EQ(svg[0].techniques, std::vector<std::string>{"T1027.017"});
  EXPECT_TRUE(BrowseHits(json{{"downloads", json::array()}}, false, tmp).empty());
  EXPECT_TRUE(BrowseHits(json{{"error", "x"}}, false, tmp).empty());
  fs::remove_all(tmp);
}

TEST(BrowseFindings, DroppedDownloadsAreMarkedAndSvgIsRecognized) {
  json dropped = {{{"path", "/tmp/downloads/a.zip"}}, {{"path", "/tmp/other"}}};
  json summary = {{"downloads", {{{"url", "blob:null/1"}, {"suggested_name", "a.zip"}, {"state", "completed"}, {"path", "/tmp/downloads/a.zip"}}}}};
  MarkDownloads(dropped, summary);
  EXPECT_EQ(dropped[0]["download"]["url"], "blob:null/1");
  EXPECT_FALSE(dropped[1].contains("download"));
  EXPECT_TRUE(IsSvgSample("", "A.SVG"));
  EXPECT_TRUE(IsSvgSample("<?xml version=\"1.0\"?><svg xmlns=", "x"));
  EXPECT_FALSE(IsSvgSample("<html><body><svg></svg></body></html>", "x.html"));
}
