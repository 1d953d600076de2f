// Debian's clamav-testfiles wrap ClamAV's harmless test program clam.exe in Office containers: an RTF
// Package object, an OLE Ole10Native stream in a .doc, and a PowerPoint ExOleObjStg. The packaged file
// must come out byte-identical under its original name. Skips (loudly) when the package is missing.
#include <gtest/gtest.h>

#include <filesystem>

#include "office_test_support.h"

namespace airlock::scan::office::testing {
namespace {

constexpr const char* kDir = "/usr/share/clamav-testfiles";

class ClamavWrapped : public ::testing::TestWithParam<const char*> {};

TEST_P(ClamavWrapped, PackagedExecutableIsExtracted) {
  if (!std::filesystem::exists(std::string(kDir) + "/clam.exe")) {
    GTEST_SKIP() << "clamav-testfiles is not installed (apt-get install clamav-testfiles)";
  }
  const std::string clam = ReadFileOrDie(std::string(kDir) + "/clam.exe");
  TreeResult r = ScanTree(GetParam(), ReadFileOrDie(std::string(kDir) + "/" + GetParam()));
  auto f = r.With("office.ole.package");
  ASSERT_EQ(f.size(), 1u) << r.Describe();
  EXPECT_EQ(f[0].severity, 7);
  bool extracted = false;
  for (const auto& leaf : r.leaves) extracted = extracted || ((leaf.name == "clam.exe" || leaf.name == "Clam.exe") && leaf.data == clam);
  EXPECT_TRUE(extracted);
}

INSTANTIATE_TEST_SUITE_P(Clamav, ClamavWrapped, ::testing::Values("clam.exe.rtf", "clam.ole.doc", "clam.ppt"));

}  // namespace
}  // namespace airlock::scan::office::testing
