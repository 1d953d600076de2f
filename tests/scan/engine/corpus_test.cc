// Reference corpora read in place: every mail of the MIME corpus parses to a verdict, and every
// container in Debian's clamav-testfiles unpacks down to the inner clam.exe.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "scan/engine.h"
#include "scan/yara_rules.h"
#include "scan_test_util.h"

namespace airlock::scan {
namespace {

namespace fs = std::filesystem;

TEST(ScanCorpus, EveryMimeCorpusMailYieldsAVerdict) {
  std::string root = AIRLOCK_SOURCE_DIR "/../shared/reference/mime-corpus/resources/eml";
  if (!fs::is_directory(root)) GTEST_SKIP() << "reference corpus missing: " << root;
  EngineOptions o;
  o.yara = &test::ProjectRules();
  Engine engine(o);
  size_t mails = 0, with_children = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file() || e.path().extension() != ".eml") continue;
    ++mails;
    InputReport r = engine.ScanFile(e.path().string());
    ASSERT_TRUE(r.ok) << e.path() << ": " << r.error;
    EXPECT_FALSE(r.root.mime.empty()) << e.path();
    EXPECT_GE(r.root.assessment.score, 0);
    EXPECT_LE(r.root.assessment.score, 10);
    if (!r.root.children.empty()) ++with_children;
  }
  EXPECT_GE(mails, 100u);  // 107 .eml files (the rest of the 324 files are JSON expectations)
  // Nearly all of them are recognized as mail and split into parts.
  EXPECT_GE(with_children * 10, mails * 8) << with_children << " of " << mails;
}

// oletools' basic/encrypted.docx: ECMA-376 agile with a password in no list (not VelvetSweatshop).
TEST(ScanCorpus, OletoolsEncryptedDocxStaysCouldNotLookInside) {
  std::string file = AIRLOCK_SOURCE_DIR "/../shared/reference/office-samples/tests/test-data/basic/encrypted.docx";
  if (!fs::is_regular_file(file)) GTEST_SKIP() << "reference corpus missing: " << file;
  EngineOptions o;
  o.yara = &test::ProjectRules();
  Engine engine(o);
  InputReport r = engine.ScanFile(file);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_NE(test::FindingEvidence(r.root, "office.encrypted").find("ECMA-376 agile: none of"), std::string::npos);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kClean);
}

struct ClamCase {
  const char* file;
  const char* inner_path;  // path of the object carrying the ClamAV test signature
};

void PrintTo(const ClamCase& c, std::ostream* os) { *os << c.file; }

class ClamavTestfiles : public ::testing::TestWithParam<ClamCase> {};

TEST_P(ClamavTestfiles, UnpacksToClamExe) {
  std::string dir = "/usr/share/clamav-testfiles";
  if (!fs::is_directory(dir)) GTEST_SKIP() << "install Debian package clamav-testfiles";
  EngineOptions o;
  o.yara = &test::ProjectRules();
  Engine engine(o);
  InputReport r = engine.ScanFile(dir + "/" + GetParam().file);
  ASSERT_TRUE(r.ok) << r.error;
  const ObjectReport* hit = test::FindWithFinding(r.root, "yara.ClamAV_Test_File");
  ASSERT_NE(hit, nullptr) << GetParam().file;
  EXPECT_EQ(hit->path, dir + "/" + GetParam().inner_path);
  EXPECT_EQ(r.root.assessment.verdict, Verdict::kMalicious);
}

INSTANTIATE_TEST_SUITE_P(
    Containers, ClamavTestfiles,
    ::testing::Values(ClamCase{"clam.exe", "clam.exe"}, ClamCase{"clam.zip", "clam.zip > clam.exe"},
                      ClamCase{"clam.bz2.zip", "clam.bz2.zip > clam.exe"}, ClamCase{"clam.7z", "clam.7z > clam.exe"},
                      ClamCase{"clam.cab", "clam.cab > clam.exe"}, ClamCase{"clam.tar.gz", "clam.tar.gz > clam.exe"},
                      ClamCase{"clam.exe.bz2", "clam.exe.bz2 > clam.exe"},
                      ClamCase{"clam.bin-be.cpio", "clam.bin-be.cpio > clam.exe"},
                      ClamCase{"clam.bin-le.cpio", "clam.bin-le.cpio > clam.exe"},
                      ClamCase{"clam.newc.cpio", "clam.newc.cpio > clam.exe"},
                      ClamCase{"clam.odc.cpio", "clam.odc.cpio > clam.exe"},
                      ClamCase{"clam.mail", "clam.mail > clam.exe"}, ClamCase{"clam.tnef", "clam.tnef > clam.exe"},
                      ClamCase{"clam.exe.mbox.base64", "clam.exe.mbox.base64 > message-1.eml > clam.exe"},
                      ClamCase{"clam.exe.mbox.uu", "clam.exe.mbox.uu > message-1.eml > clam.exe"}),
    [](const ::testing::TestParamInfo<ClamCase>& p) {
      std::string n = p.param.file;
      for (auto& c : n) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return n;
    });

}  // namespace
}  // namespace airlock::scan
