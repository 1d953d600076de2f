// A damaged archive's names are evidence (archive.damaged_names): a member that cannot be
// decompressed but is named like a program (in a zip's central directory, or in any format's headers,
// as a 7z's) is judged by its name; a damaged archive of documents stays "archive is damaged" (clean).
#include <gtest/gtest.h>

#include "scan/engine.h"
#include "scan/unpack/zip_directory.h"
#include "scan_test_util.h"

namespace airlock::scan {
namespace {

using test::Scan;

// A deflated one-member zip whose compressed data is overwritten with 0xFF (an invalid block type).
std::string DamagedZip(const std::string& member) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "line " + std::to_string(i * 7919 % 1000) + " of the quotation\n";
  std::string zip = test::MakeArchive("zip", {{member, text}});
  EXPECT_EQ(zip.substr(0, 4), std::string("PK\x03\x04", 4));
  auto le16 = [&](size_t at) { return static_cast<uint8_t>(zip[at]) | static_cast<uint8_t>(zip[at + 1]) << 8; };
  EXPECT_EQ(le16(8), 8) << "the member is deflated";
  const size_t data = 30 + le16(26) + le16(28);
  for (size_t i = data; i < data + 32 && i < zip.size(); ++i) zip[i] = '\xff';
  return zip;
}

// A one-member 7z whose packed stream (right after the 32-byte signature header) is overwritten: its
// header, at the end, still names the member; its data cannot be decompressed.
std::string Damaged7z(const std::string& member) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "line " + std::to_string(i * 7919 % 1000) + " of the quotation\n";
  std::string z = test::MakeArchive("7z", {{member, text}});
  EXPECT_EQ(z.substr(0, 6), std::string("7z\xbc\xaf\x27\x1c", 6));
  for (size_t i = 32; i < 96 && i < z.size(); ++i) z[i] = '\xff';
  return z;
}

TEST(DamagedArchive, A7zNamesItsMembersInItsHeaders) {
  InputReport r = Scan("mail.eml", test::MakeMail("Please see the attached RFQ.\n", "RFQ.7z", Damaged7z("REQUEST FOR QUOTE.exe")));
  const ObjectReport* z = test::FindWithFinding(r.root, "archive.damaged_names");
  ASSERT_NE(z, nullptr) << "the corrupt 7z's member name is evidence";
  EXPECT_TRUE(test::HasFinding(*z, "archive.corrupt"));
  EXPECT_EQ(test::FindingEvidence(*z, "archive.damaged_names"), "names in its headers: REQUEST FOR QUOTE.exe");
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious) << r.root.assessment.score;
  // Its hard negative: the same damage to a document stays only damaged (clean).
  InputReport doc = Scan("mail.eml", test::MakeMail("Please see the attached RFQ.\n", "RFQ.7z", Damaged7z("REQUEST FOR QUOTE.pdf")));
  EXPECT_NE(test::FindWithFinding(doc.root, "archive.corrupt"), nullptr);
  EXPECT_EQ(test::FindWithFinding(doc.root, "archive.damaged_names"), nullptr);
  EXPECT_EQ(doc.root.assessment.verdict, Verdict::kClean) << doc.root.assessment.score;
}

TEST(DamagedArchive, ExecutableNameInMailIsMalicious) {
  InputReport r = Scan("mail.eml", test::MakeMail("Please see the attached RFQ.\n", "RFQ.zip", DamagedZip("REQUEST FOR QUOTE.exe")));
  const ObjectReport* z = test::FindWithFinding(r.root, "archive.damaged_names");
  ASSERT_NE(z, nullptr);
  EXPECT_TRUE(test::HasFinding(*z, "archive.corrupt"));
  EXPECT_EQ(test::FindingEvidence(*z, "archive.damaged_names"), "directory names: REQUEST FOR QUOTE.exe");
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious) << r.root.assessment.score;
}

TEST(DamagedArchive, ExecutableNameOutsideMailIsSuspicious) {
  InputReport r = Scan("RFQ.zip", DamagedZip("REQUEST FOR QUOTE.exe"));
  EXPECT_TRUE(test::HasFinding(r.root, "archive.damaged_names"));
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kSuspicious) << r.root.assessment.score;
}

TEST(DamagedArchive, DocumentNameStaysOnlyDamaged) {
  InputReport r = Scan("mail.eml", test::MakeMail("Please see the attached RFQ.\n", "RFQ.zip", DamagedZip("REQUEST FOR QUOTE.pdf")));
  EXPECT_NE(test::FindWithFinding(r.root, "archive.corrupt"), nullptr);
  EXPECT_EQ(test::FindWithFinding(r.root, "archive.damaged_names"), nullptr);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kClean) << r.root.assessment.score;
}

TEST(DamagedArchive, NameRisk) {
  EXPECT_EQ(MemberNameRisk("REQUEST FOR QUOTE.exe"), 1);
  EXPECT_EQ(MemberNameRisk("dir/invoice.pdf.exe"), 2);
  EXPECT_EQ(MemberNameRisk("invoice.doc          .js"), 2);
  EXPECT_EQ(MemberNameRisk("build.sh.txt"), 0);
  EXPECT_EQ(MemberNameRisk("photo.jpg"), 0);
}

TEST(DamagedArchive, DirectoryNamesSurviveABrokenEndRecord) {
  std::string zip = test::MakeArchive("zip", {{"a.txt", "x"}, {"setup.scr", "y"}});
  size_t eocd = zip.rfind(std::string("PK\x05\x06", 4));
  ASSERT_NE(eocd, std::string::npos);
  zip.resize(eocd + 8);  // truncated end record
  auto names = ZipDirectoryNames(zip, 16);
  EXPECT_NE(std::find(names.begin(), names.end(), "setup.scr"), names.end());
  EXPECT_TRUE(ZipDirectoryNames(std::string(100, 'P'), 16).empty());
}

}  // namespace
}  // namespace airlock::scan
