// Pure pieces of the engine: verdict rule, password candidates, name sanitizing, member path checks,
// mbox splitting, uudecoding, block-list parsing, terminal escaping.
#include <gtest/gtest.h>

#include "scan/blocklist.h"
#include "scan/extract.h"
#include "scan/report_text.h"
#include "scan/unpack/archive_unpacker.h"
#include "scan/unpack/mbox_unpacker.h"
#include "scan/unpack/mime_unpacker.h"
#include "scan/unpack/passwords.h"
#include "scan/unpack/uuencode_unpacker.h"
#include "scan/verdict.h"

namespace airlock::scan {
namespace {

Finding F(std::string id, int sev, std::vector<std::string> tech = {}) {
  Finding f;
  f.id = std::move(id);
  f.severity = sev;
  f.techniques = std::move(tech);
  return f;
}

Assessment AssessAll(const std::vector<Finding>& fs) {
  std::vector<const Finding*> ptrs;
  for (const auto& f : fs) ptrs.push_back(&f);
  return Assess(ptrs);
}

TEST(ScanVerdict, ScoreRule) {
  EXPECT_EQ(AssessAll({}).score, 0);
  EXPECT_EQ(AssessAll({}).verdict, Verdict::kClean);
  EXPECT_EQ(AssessAll({F("a", 3)}).verdict, Verdict::kClean);
  EXPECT_EQ(AssessAll({F("a", 4)}).verdict, Verdict::kSuspicious);
  EXPECT_EQ(AssessAll({F("a", 7)}).verdict, Verdict::kMalicious);
  // Two further independent findings of severity >= 3 add one point; four add two; never above 10.
  EXPECT_EQ(AssessAll({F("a", 5), F("b", 3), F("c", 3)}).score, 6);
  EXPECT_EQ(AssessAll({F("a", 5), F("b", 3), F("c", 3), F("d", 4), F("e", 4), F("f", 4)}).score, 7);
  EXPECT_EQ(AssessAll({F("a", 10), F("b", 9), F("c", 9)}).score, 10);
  // Repeats of one id, or low-severity findings, add nothing.
  EXPECT_EQ(AssessAll({F("a", 5), F("a", 5), F("a", 5)}).score, 5);
  EXPECT_EQ(AssessAll({F("a", 5), F("b", 2), F("c", 2)}).score, 5);
  EXPECT_EQ(AssessAll({F("a", 5, {"T2"}), F("b", 1, {"T1", "T2"})}).techniques,
            (std::vector<std::string>{"T1", "T2"}));
}

TEST(ScanPasswords, CuedTokensComeFirst) {
  auto c = PasswordCandidates({"Hello Bob,\nthe PW: 'Summer2024!' as agreed.\nPasswort ist geheim7\ncode=1111"});
  ASSERT_GE(c.size(), 3u);
  EXPECT_EQ(c[0], "Summer2024");  // trailing '!' is punctuation in prose
  EXPECT_EQ(c[1], "geheim7");
  EXPECT_NE(std::find(c.begin(), c.end(), "1111"), c.end());
  EXPECT_NE(std::find(c.begin(), c.end(), "infected"), c.end());
  EXPECT_NE(std::find(c.begin(), c.end(), "Hello"), c.end());
}

TEST(ScanPasswords, BoundedForHugeInput) {
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "password tok" + std::to_string(i) + " ";
  auto c = PasswordCandidates({text, text});
  EXPECT_LE(c.size(), kDefaultMaxPasswordCandidates);
  for (const auto& s : c) EXPECT_LE(s.size(), 64u);
  EXPECT_EQ(PasswordCandidates({}).size(), DefaultPasswords().size());
}

TEST(ScanExtract, SanitizeLeaf) {
  EXPECT_EQ(SanitizeLeaf("../../etc/passwd"), "passwd");
  EXPECT_EQ(SanitizeLeaf("/etc/x"), "x");
  EXPECT_EQ(SanitizeLeaf(".."), "object");
  EXPECT_EQ(SanitizeLeaf(".bashrc"), "bashrc");
  EXPECT_EQ(SanitizeLeaf("a\\b\\c.exe"), "c.exe");
  EXPECT_EQ(SanitizeLeaf("inv\xc3\xa4 oice;rm -rf.pdf"), "inv___oice_rm_-rf.pdf");
  EXPECT_EQ(SanitizeLeaf(""), "object");
  EXPECT_EQ(SanitizeLeaf(std::string(500, 'a')).size(), 80u);
}

TEST(ScanArchive, UnsafeMemberPaths) {
  EXPECT_TRUE(IsUnsafeMemberPath("/etc/passwd"));
  EXPECT_TRUE(IsUnsafeMemberPath("../x"));
  EXPECT_TRUE(IsUnsafeMemberPath("a/../../x"));
  EXPECT_TRUE(IsUnsafeMemberPath("a\\..\\x"));
  EXPECT_TRUE(IsUnsafeMemberPath("C:\\Windows\\x"));
  EXPECT_TRUE(IsUnsafeMemberPath(".."));
  EXPECT_FALSE(IsUnsafeMemberPath("a/b..c/d"));
  EXPECT_FALSE(IsUnsafeMemberPath("word/document.xml"));
  EXPECT_TRUE(IsArchiveMime("application/vnd.openxmlformats-officedocument.wordprocessingml.document"));
  EXPECT_FALSE(IsArchiveMime("text/plain"));
}

TEST(ScanMbox, SplitsOnFromLinesAfterBlankLines) {
  // Writers escape body lines as ">From "; a "From " line not after an empty line is body text too.
  std::string box = "From a@x Mon\nSubject: 1\n\n>From the start\nFrom here on, body\n\nFrom b@x Tue\nSubject: 2\n\nbody\n";
  auto m = SplitMbox(box);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_TRUE(m[0].starts_with("Subject: 1"));
  EXPECT_NE(m[0].find(">From the start\nFrom here on"), std::string_view::npos);
  EXPECT_TRUE(m[1].starts_with("Subject: 2"));
  EXPECT_TRUE(SplitMbox("no mbox here").empty());
}

TEST(ScanUuencode, DecodesAndBoundsOutput) {
  auto blocks = DecodeUuencoded("begin 644 cat.txt\n#8V%T\n`\nend\n");
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].name, "cat.txt");
  EXPECT_EQ(blocks[0].data, "cat");
  // A length byte promising more than the line holds never produces more than the line encodes.
  std::string hostile = "begin 600 x\n";
  for (int i = 0; i < 1000; ++i) hostile += "M\n";
  auto h = DecodeUuencoded(hostile);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_TRUE(h[0].data.empty());
  EXPECT_TRUE(DecodeUuencoded("begin 6x4 y\nend\n").empty());
}

TEST(ScanMime, LooksLikeMail) {
  EXPECT_TRUE(LooksLikeMail("Received: from x\r\nFrom: a@b\r\nSubject: s\r\n\r\nbody"));
  EXPECT_TRUE(LooksLikeMail("From: a@b\nTo: c@d\n\nhi"));
  EXPECT_FALSE(LooksLikeMail("Subject: only one header\n\nbody"));
  EXPECT_FALSE(LooksLikeMail("just some text: with a colon\nand more\n"));
  EXPECT_FALSE(LooksLikeMail(""));
}

TEST(ScanBlocklist, Parse) {
  std::string h(64, 'a');
  auto b = Blocklist::Parse("# comment\n" + std::string(64, 'A') + " name\n  " + std::string(64, 'b') +
                            "\nnot-a-hash\n" + std::string(63, 'c') + "\n" + std::string(65, 'd') + "\n");
  EXPECT_EQ(b.size(), 2u);
  EXPECT_TRUE(b.Contains(h));
  EXPECT_TRUE(b.Contains(std::string(64, 'b')));
  EXPECT_FALSE(b.Contains(std::string(64, 'c')));
}

TEST(ScanReportText, EscapesControlCharacters) {
  EXPECT_EQ(EscapeForTerminal("a\x1b[31mb\n"), "a\\x1b[31mb\\x0a");
  EXPECT_EQ(EscapeForTerminal("plain"), "plain");
}

TEST(ScanReportText, NoRawEscapeFromAnyField) {
  // Regression (found by fuzz_report_writer): techniques and limit ids were printed unescaped.
  const std::string esc = "\x1b]0;owned\x07";
  ScanReport report;
  InputReport in;
  in.input = esc;
  in.root.name = esc;
  in.root.path = esc;
  in.root.mime = esc;
  in.root.extracted_as = esc;
  Finding f = F(esc, 9, {esc});
  f.title = esc;
  f.evidence = esc;
  in.root.findings.push_back(f);
  in.root.children.push_back(in.root);
  in.limits_hit.push_back({esc, esc, esc});
  report.inputs.push_back(in);
  InputReport bad;
  bad.input = esc;
  bad.ok = false;
  bad.error = esc;
  report.inputs.push_back(bad);
  report.assessment.techniques = {esc};
  std::string text = ReportToText(report, /*color=*/false);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\x07'), std::string::npos);
  EXPECT_NE(text.find("\\x1b]0;owned\\x07"), std::string::npos);
}

}  // namespace
}  // namespace airlock::scan
