// The engine end to end through the library: unpacking chains, passwords, limits, verdicts.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <filesystem>
#include <memory>

#include "scan/engine.h"
#include "scan/limits.h"
#include "scan/yara_rules.h"
#include "scan_test_util.h"

namespace airlock::scan {
namespace {

using test::Eicar;
using test::FindWithFinding;
using test::MakeArchive;
using test::MakeMail;
using test::ProjectRules;

using test::Scan;

std::string EicarPath(const InputReport& r) {
  const ObjectReport* o = FindWithFinding(r.root, "yara.EICAR_Test_File");
  return o == nullptr ? "" : o->path;
}

TEST(ScanEngine, EicarPlainIsMalicious) {
  auto r = Scan("eicar.com", Eicar());
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
  EXPECT_EQ(EicarPath(r), "eicar.com");
  EXPECT_EQ(r.root.sha256.size(), 64u);
  EXPECT_EQ(r.root.md5.size(), 32u);
  EXPECT_EQ(r.root.sha1.size(), 40u);
}

TEST(ScanEngine, CleanTextIsClean) {
  auto r = Scan("notes.txt", "Meeting moved to Thursday 10:00. Bring the quarterly numbers.\n");
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kClean);
  EXPECT_EQ(r.root.mime, "text/plain");
}

TEST(ScanEngine, EicarInZip) {
  auto zip = MakeArchive("zip", {{"readme.txt", "hello\n"}, {"eicar.com", Eicar()}});
  auto r = Scan("outer.zip", zip);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
  EXPECT_EQ(EicarPath(r), "outer.zip > eicar.com");
  ASSERT_EQ(r.root.children.size(), 2u);
  EXPECT_EQ(r.root.mime, "application/zip");
}

TEST(ScanEngine, EicarInZipInZip) {
  auto inner = MakeArchive("zip", {{"eicar.com", Eicar()}});
  auto outer = MakeArchive("zip", {{"inner.zip", inner}});
  auto r = Scan("outer.zip", outer);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
  EXPECT_EQ(EicarPath(r), "outer.zip > inner.zip > eicar.com");
  EXPECT_EQ(r.root.children.at(0).assessment.verdict, Verdict::kMalicious);
}

TEST(ScanEngine, EicarInTarGz) {
  auto tgz = MakeArchive("tar.gz", {{"dir/eicar.com", Eicar()}});
  auto r = Scan("bundle.tar.gz", tgz);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
  EXPECT_EQ(EicarPath(r), "bundle.tar.gz > dir/eicar.com");
}

TEST(ScanEngine, EicarIn7z) {
  auto z = MakeArchive("7z", {{"eicar.com", Eicar()}});
  auto r = Scan("a.7z", z);
  EXPECT_EQ(EicarPath(r), "a.7z > eicar.com");
}

TEST(ScanEngine, EicarInMailAttachment) {
  auto zip = MakeArchive("zip", {{"eicar.com", Eicar()}});
  auto mail = MakeMail("Please find the invoice attached.", "invoice.zip", zip);
  auto r = Scan("mail.eml", mail);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
  EXPECT_EQ(EicarPath(r), "mail.eml > invoice.zip > eicar.com");
  // The text body is an object too.
  bool has_body = false;
  for (const auto& c : r.root.children) has_body |= c.mime == "text/plain";
  EXPECT_TRUE(has_body);
}

TEST(ScanEngine, PasswordFromMailBodyOpensZip) {
  const std::string pw = "Plum-7431";
  auto zip = MakeArchive("zip", {{"eicar.com", Eicar()}}, pw);
  auto mail = MakeMail("Hi,\r\nthe archive is protected.\r\nPassword: " + pw + "\r\nRegards", "secure.zip", zip);
  auto r = Scan("mail.eml", mail);
  EXPECT_EQ(EicarPath(r), "mail.eml > secure.zip > eicar.com");
  const ObjectReport* z = FindWithFinding(r.root, "archive.password");
  ASSERT_NE(z, nullptr);
  EXPECT_TRUE(test::HasFinding(*z, "archive.encrypted"));
  bool noted = false;
  for (const auto& f : z->findings) {
    if (f.id == "archive.password") noted = f.evidence.find(pw) != std::string::npos;
  }
  EXPECT_TRUE(noted);
}

TEST(ScanEngine, DefaultPasswordOpensZip) {
  auto zip = MakeArchive("zip", {{"eicar.com", Eicar()}}, "infected");
  auto r = Scan("sample.zip", zip);
  EXPECT_EQ(EicarPath(r), "sample.zip > eicar.com");
}

TEST(ScanEngine, UnknownPasswordIsReportedNotOpened) {
  auto zip = MakeArchive("zip", {{"eicar.com", Eicar()}}, "q8#Lz!unguessable");
  auto r = Scan("locked.zip", zip);
  EXPECT_TRUE(test::HasFinding(r.root, "archive.encrypted"));
  EXPECT_FALSE(test::HasFinding(r.root, "archive.password"));
  EXPECT_TRUE(r.root.children.empty());
  EXPECT_EQ(EicarPath(r), "");
}

TEST(ScanEngine, ZipBombHitsLimitInBoundedMemory) {
  struct rusage before {};
  getrusage(RUSAGE_SELF, &before);
  auto bomb = test::MakeZeroBombZip("zeros.bin", 1ull << 30);  // 1 GiB of zeros, about 1 MiB zipped
  ASSERT_LT(bomb.size(), 16u << 20);
  auto r = Scan("bomb.zip", bomb);
  ASSERT_FALSE(r.limits_hit.empty());
  EXPECT_EQ(r.limits_hit[0].limit, std::string(kLimitRatio));
  EXPECT_EQ(r.limits_hit[0].path, "bomb.zip");
  EXPECT_TRUE(test::HasFinding(r.root, std::string(kLimitRatio)));
  EXPECT_GE(r.root.assessment.score, 5);
  EXPECT_TRUE(r.root.children.empty());
  struct rusage after {};
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 256 * 1024) << "KiB of peak RSS growth";
}

TEST(ScanEngine, TotalBytesLimitStopsWideArchives) {
  std::vector<test::Member> members;
  for (int i = 0; i < 20; ++i) members.push_back({"f" + std::to_string(i), std::string(100000, 'a' + i % 26)});
  ScanLimits lim;
  lim.max_total_bytes = 500000;
  lim.max_ratio = 1e9;
  auto r = Scan("wide.tar", MakeArchive("tar", members), lim);
  EXPECT_TRUE(test::HasFinding(r.root, std::string(kLimitTotal)));
  EXPECT_LE(r.root.children.size(), 5u);
}

TEST(ScanEngine, EntryLimit) {
  std::vector<test::Member> members;
  for (int i = 0; i < 30; ++i) members.push_back({"f" + std::to_string(i), "x"});
  ScanLimits lim;
  lim.max_entries = 10;
  auto r = Scan("many.zip", MakeArchive("zip", members), lim);
  EXPECT_TRUE(test::HasFinding(r.root, std::string(kLimitEntries)));
  EXPECT_EQ(r.root.children.size(), 10u);
}

TEST(ScanEngine, DepthLimitOnNestedZips) {
  std::string data = "innermost\n";
  for (int i = 0; i < 20; ++i) data = MakeArchive("zip", {{"level" + std::to_string(i) + ".zip", data}});
  auto r = Scan("deep.zip", data);
  ASSERT_FALSE(r.limits_hit.empty());
  EXPECT_EQ(r.limits_hit[0].limit, std::string(kLimitDepth));
  int depth = 0;
  for (const ObjectReport* o = &r.root; !o->children.empty(); o = &o->children[0]) ++depth;
  EXPECT_EQ(depth, ScanLimits{}.max_depth);
}

TEST(ScanEngine, TimeLimitEndsScan) {
  ScanLimits lim;
  lim.max_seconds = 0;  // already expired: nothing below the root is analyzed
  auto r = Scan("a.zip", MakeArchive("zip", {{"eicar.com", Eicar()}}), lim);
  EXPECT_TRUE(test::HasFinding(r.root, std::string(kLimitTime)));
  EXPECT_TRUE(r.root.children.empty());
}

TEST(ScanEngine, MemberPathAndLinkFindings) {
  auto tar = MakeArchive("tar", {{"../../escape.txt", "x"},
                                 {"/etc/owned", "y"},
                                 {"link", "", 0777, "/etc/passwd"},
                                 {"suid-tool", "#!/bin/sh\n", 04755}});
  auto r = Scan("evil.tar", tar);
  EXPECT_TRUE(test::HasFinding(r.root, "archive.path_traversal"));
  EXPECT_TRUE(test::HasFinding(r.root, "archive.link"));
  ASSERT_TRUE(test::HasFinding(r.root, "archive.setuid"));
  for (const auto& f : r.root.findings) {
    if (f.id == "archive.setuid") {
      EXPECT_EQ(f.techniques, std::vector<std::string>{"T1548.001"});
    }
  }
  // The link is never an object of its own.
  for (const auto& c : r.root.children) EXPECT_NE(c.name, "link");
}

TEST(ScanEngine, RawCompressedStream) {
  // A gzip stream that is not a tar: one child, named without the suffix.
  auto r = Scan("dir/notes.txt.gz", test::Gzip("plain words\n" + Eicar()));
  ASSERT_EQ(r.root.children.size(), 1u);
  EXPECT_EQ(r.root.children[0].name, "notes.txt");
  EXPECT_EQ(EicarPath(r), "dir/notes.txt.gz > notes.txt");
}

TEST(ScanEngine, CompressedStreamStartingWithZeroBlocksIsReadRaw) {
  // 1 KiB of zeros is a tar end-of-archive marker; the payload after it must still be scanned, and a
  // stream of zeros must still hit the ratio limit.
  std::string payload = std::string(1024, '\0') + Eicar();
  auto r = Scan("hidden.gz", test::Gzip(payload));
  EXPECT_EQ(EicarPath(r), "hidden.gz > hidden");
  auto zeros = Scan("zeros.gz", test::Gzip(std::string(64u << 20, '\0')));
  EXPECT_TRUE(test::HasFinding(zeros.root, std::string(kLimitRatio)));
}

TEST(ScanEngine, MboxSplitsMessages) {
  std::string mbox = "From alice@example.org Tue Nov 14 10:00:00 2023\n" + MakeMail("first", "a.txt", "hello") +
                     "\nFrom bob@example.org Tue Nov 14 11:00:00 2023\n" +
                     MakeMail("second", "eicar.com", Eicar());
  auto r = Scan("box.mbox", mbox);
  ASSERT_EQ(r.root.children.size(), 2u);
  EXPECT_EQ(r.root.children[0].name, "message-1.eml");
  EXPECT_EQ(EicarPath(r), "box.mbox > message-2.eml > eicar.com");
}

TEST(ScanEngine, UuencodedBodyIsDecoded) {
  // "begin 644 e.txt" block encoding EICAR, built with the uuencode rules at test time.
  std::string eicar = Eicar();
  std::string uu = "Some text before\nbegin 644 e.com\n";
  for (size_t i = 0; i < eicar.size(); i += 45) {
    std::string chunk = eicar.substr(i, 45);
    uu.push_back(static_cast<char>(0x20 + chunk.size()));
    while (chunk.size() % 3 != 0) chunk.push_back('\0');
    for (size_t k = 0; k < chunk.size(); k += 3) {
      unsigned v = (static_cast<unsigned char>(chunk[k]) << 16) | (static_cast<unsigned char>(chunk[k + 1]) << 8) |
                   static_cast<unsigned char>(chunk[k + 2]);
      for (int s = 18; s >= 0; s -= 6) {
        unsigned c = (v >> s) & 63;
        uu.push_back(c == 0 ? '`' : static_cast<char>(0x20 + c));
      }
    }
    uu.push_back('\n');
  }
  uu += "`\nend\n";
  auto r = Scan("post.txt", uu);
  EXPECT_EQ(EicarPath(r), "post.txt > e.com");
}

TEST(ScanEngine, CleanPngAndDocx) {
  // Smallest valid PNG (1x1, grey), bytes written out.
  const unsigned char png[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 'I', 'H', 'D', 'R', 0, 0,
                               0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0x3a, 0x7e, 0x9b, 0x55, 0, 0, 0, 0x0a, 'I', 'D',
                               'A', 'T', 0x78, 0x9c, 0x63, 0x60, 0, 0, 0, 2, 0, 1, 0x48, 0xaf, 0xa4, 0x71, 0, 0,
                               0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
  auto r = Scan("pixel.png", std::string(reinterpret_cast<const char*>(png), sizeof png));
  EXPECT_EQ(r.root.mime, "image/png");
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kClean);

  std::string content_types =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
      "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
      "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
      "<Override PartName=\"/word/document.xml\" ContentType=\"application/"
      "vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>";
  std::string rels =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
      "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
      "officeDocument\" Target=\"word/document.xml\"/></Relationships>";
  std::string doc =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
      "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r>"
      "<w:t>Quarterly report</w:t></w:r></w:p></w:body></w:document>";
  auto docx = MakeArchive("zip", {{"[Content_Types].xml", content_types}, {"_rels/.rels", rels}, {"word/document.xml", doc}});
  auto d = Scan("report.docx", docx);
  EXPECT_EQ(d.root.children.size(), 3u) << d.root.mime;
  EXPECT_EQ(d.root.assessment.verdict, Verdict::kClean);
  for (const auto& c : d.root.children) {
    for (const auto& f : c.findings) ADD_FAILURE() << c.path << ": " << f.id;
  }
}

TEST(ScanEngine, CleanPlainTextMail) {
  std::string mail =
      "From: a@example.org\r\nTo: b@example.org\r\nSubject: lunch\r\nDate: Tue, 14 Nov 2023 10:00:00 +0000\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee you at noon.\r\n";
  auto r = Scan("lunch.eml", mail);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kClean);
  ASSERT_EQ(r.root.children.size(), 1u);
  EXPECT_EQ(r.root.children[0].mime, "text/plain");
}

TEST(ScanEngine, Rfc2047AttachmentName) {
  std::string mail =
      "From: a@example.org\r\nTo: b@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nbody\r\n--b1\r\n"
      "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: quoted-printable\r\n"
      "Content-Disposition: attachment; filename*=UTF-8''Rechnung%20M%C3%A4rz.txt\r\n\r\nhello=3Dworld\r\n--b1--\r\n";
  auto r = Scan("m.eml", mail);
  ASSERT_EQ(r.root.children.size(), 2u);
  EXPECT_EQ(r.root.children[1].name, "Rechnung M\xc3\xa4rz.txt");
  EXPECT_EQ(r.root.children[1].size, std::string("hello=world").size());
}

}  // namespace
}  // namespace airlock::scan
