// airlock-browser's download quarantine and verdict rule (src/browser/quarantine.h, download_judge.h):
// names from pages, ids from users, the release rule and its xattrs, script-built downloads.
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "browser/download_judge.h"
#include "browser/quarantine.h"
#include "core/unique_fd.h"
#include "test_env.h"

using namespace airlock;
using namespace airlock::browser;

namespace {

std::string Xattr(const std::string& path, const char* key) {
  char buf[1024];
  ssize_t n = ::getxattr(path.c_str(), key, buf, sizeof buf);
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

HeldDownload AdmitText(Quarantine& q, const std::string& dir, const std::string& content, HeldDownload meta) {
  const std::string src = dir + "/src";
  test::WriteFile(src, content, 0600);
  UniqueFd fd(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  auto d = q.Admit(fd.get(), meta);
  EXPECT_TRUE(d.has_value()) << (d ? "" : d.error().What());
  std::filesystem::remove(src);
  return d ? *d : HeldDownload{};
}

}  // namespace

TEST(BrowserQuarantine, NamesFromPagesBecomeOneSafeComponent) {
  EXPECT_EQ(SafeFileName("report.pdf"), "report.pdf");
  EXPECT_EQ(SafeFileName("../../etc/passwd"), "passwd");
  EXPECT_EQ(SafeFileName("a\\b\\..\\evil.sh"), "evil.sh");
  EXPECT_EQ(SafeFileName(".."), "download");
  EXPECT_EQ(SafeFileName(""), "download");
  EXPECT_EQ(SafeFileName(".bashrc"), "bashrc");
  EXPECT_EQ(SafeFileName("-rf"), "rf");
  EXPECT_EQ(SafeFileName(std::string("a\nb\x01\x7f.txt")), "a_b__.txt");
  const std::string odd = SafeFileName("\xff\xfe.exe");  // invalid UTF-8: escaped, no separator left
  EXPECT_EQ(odd.find('/'), std::string::npos);
  EXPECT_EQ(odd.find('\\'), std::string::npos);
  EXPECT_TRUE(odd.ends_with(".exe")) << odd;
  EXPECT_LE(SafeFileName(std::string(400, 'x')).size(), 150u);
}

TEST(BrowserQuarantine, IdsAreCheckedBeforeAnyPathIsBuilt) {
  EXPECT_TRUE(ValidId("20261206-004100-1a2b3c"));
  EXPECT_FALSE(ValidId("../20261206-004100-1a2b3c"));
  EXPECT_FALSE(ValidId("20261206-004100-1a2b3/"));
  EXPECT_FALSE(ValidId("20261206-004100-1A2B3C"));
  EXPECT_FALSE(ValidId(""));
  auto q = Quarantine::Open(test::MakeTempDir("bq-ids") + "/q");
  ASSERT_TRUE(q.has_value());
  auto bad = q->Load("../../etc");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().What().find("no download id"), std::string::npos) << bad.error().What();
  EXPECT_FALSE(q->Delete("..").has_value());
}

TEST(BrowserQuarantine, ScriptBuiltDownloadsAreNeverCleanAndNamedByTechnique) {
  HeldDownload html;
  html.scripted = true;
  html.referrer = "https://example.org/invoice.html";
  ApplyVerdict(ScanAnswer{"clean", 0, {}}, html);
  EXPECT_EQ(html.verdict, "suspicious");
  EXPECT_EQ(html.state, "held");
  EXPECT_EQ(html.techniques, std::vector<std::string>{"T1027.006"});

  HeldDownload svg;
  svg.scripted = true;
  svg.referrer = "https://example.org/logo.svg?x=1";
  ApplyVerdict(ScanAnswer{"malicious", 9, {"T1204.002"}}, svg);
  EXPECT_EQ(svg.verdict, "malicious");
  EXPECT_EQ(svg.state, "malicious");
  EXPECT_EQ(svg.techniques, (std::vector<std::string>{"T1204.002", "T1027.017"}));

  HeldDownload plain;
  ApplyVerdict(ScanAnswer{"clean", 2, {}}, plain);
  EXPECT_EQ(plain.state, "clean");
  EXPECT_TRUE(plain.techniques.empty());
}

TEST(BrowserQuarantine, ScanAnswersAreParsedStrictly) {
  auto a = ParseScanAnswer(R"({"verdict":"suspicious","score":6,"techniques":["T1027.006",3]})");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->verdict, "suspicious");
  EXPECT_EQ(a->techniques, std::vector<std::string>{"T1027.006"});
  EXPECT_FALSE(ParseScanAnswer("not json").has_value());
  EXPECT_FALSE(ParseScanAnswer(R"({"verdict":"fine"})").has_value());
  EXPECT_FALSE(ParseScanAnswer(R"({"score":1})").has_value());
}

TEST(BrowserQuarantine, ReleaseFollowsTheVerdictAndMarksTheFile) {
  const std::string dir = test::MakeTempDir("bq-release");
  auto q = Quarantine::Open(dir + "/q");
  ASSERT_TRUE(q.has_value()) << q.error().What();
  const std::string downloads = dir + "/Downloads";

  HeldDownload meta;
  meta.suggested_name = "../report.pdf";
  meta.url = "https://example.org/report.pdf";
  meta.referrer = "https://example.org/";
  HeldDownload d = AdmitText(*q, dir, "%PDF-1.4 test", meta);
  EXPECT_EQ(d.name, "report.pdf");
  EXPECT_EQ(d.state, "judging");
  auto unjudged = q->Release(d, downloads, true);
  ASSERT_FALSE(unjudged.has_value());
  EXPECT_NE(unjudged.error().What().find("nothing is released unjudged"), std::string::npos);

  ApplyVerdict(ScanAnswer{"clean", 0, {}}, d);
  auto to = q->Release(d, downloads, false);
  ASSERT_TRUE(to.has_value()) << to.error().What();
  EXPECT_EQ(*to, downloads + "/report.pdf");
  EXPECT_EQ(test::ReadFileOrEmpty(*to), "%PDF-1.4 test");
  EXPECT_EQ(Xattr(*to, "user.airlock.origin"), "https://example.org/report.pdf");
  EXPECT_TRUE(Xattr(*to, "user.airlock.verdict").starts_with("clean sha256:" + d.sha256 + " ")) << Xattr(*to, "user.airlock.verdict");
  EXPECT_EQ(Xattr(*to, "user.xdg.referrer.url"), "https://example.org/");
  EXPECT_EQ(q->Load(d.id)->state, "released");

  // A second file of that name never replaces the first.
  HeldDownload again = AdmitText(*q, dir, "%PDF-1.4 other", meta);
  ApplyVerdict(ScanAnswer{"clean", 0, {}}, again);
  auto to2 = q->Release(again, downloads, false);
  ASSERT_TRUE(to2.has_value());
  EXPECT_EQ(*to2, downloads + "/report (1).pdf");
  EXPECT_EQ(test::ReadFileOrEmpty(*to), "%PDF-1.4 test");

  // Suspicious: only with the user's confirmation, marked "released".
  HeldDownload smuggled = meta;
  smuggled.url = "blob:https://example.org/1234";
  smuggled.scripted = true;
  HeldDownload s = AdmitText(*q, dir, "PK\x03\x04", smuggled);
  ApplyVerdict(ScanAnswer{"clean", 0, {}}, s);
  EXPECT_FALSE(q->Release(s, downloads, false).has_value());
  auto confirmed = q->Release(s, downloads, true);
  ASSERT_TRUE(confirmed.has_value());
  EXPECT_TRUE(Xattr(*confirmed, "user.airlock.verdict").starts_with("released sha256:"));

  // Malicious: never.
  HeldDownload m = AdmitText(*q, dir, "MZ", meta);
  ApplyVerdict(ScanAnswer{"malicious", 9, {}}, m);
  auto refused = q->Release(m, downloads, true);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().What().find("stays in quarantine"), std::string::npos);

  auto all = q->List();
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 4u);
  ASSERT_TRUE(q->Delete(m.id).has_value());
  EXPECT_EQ(q->List()->size(), 3u);
}

TEST(BrowserQuarantine, AHeldCopyChangedAfterJudgingIsNotReleased) {
  const std::string dir = test::MakeTempDir("bq-tamper");
  auto q = Quarantine::Open(dir + "/q");
  ASSERT_TRUE(q.has_value());
  HeldDownload meta;
  meta.suggested_name = "a.txt";
  HeldDownload d = AdmitText(*q, dir, "hello", meta);
  ApplyVerdict(ScanAnswer{"clean", 0, {}}, d);
  test::WriteFile(q->FilePath(d), "changed", 0600);
  auto r = q->Release(d, dir + "/Downloads", false);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().What().find("no longer has SHA-256"), std::string::npos);
}
