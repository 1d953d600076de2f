// A damaged zip's directory names are evidence (archive.damaged_names): a member that cannot be
// decompressed but is named like a program is judged by its name; a damaged zip of documents stays
// "archive is damaged" (clean).
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
