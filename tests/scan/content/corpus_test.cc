// All content detectors over real files read in place: the oletools Office corpus, 324 mails of the
// mail-parser corpus and Debian's clamav-testfiles. Nothing may throw; no detector may call an
// ordinary mail or Office document malicious on its own; the ClamAV test executable's wrappers that
// this family understands (PE by magic, HTML data: URI, PDF embedded file) are found.
#include <gtest/gtest.h>

#include <filesystem>

#include "collector.h"

namespace airlock::scan {
namespace {

using content_test::Collector;
using content_test::MakeObject;

struct Result {
  size_t files = 0;
  std::vector<std::string> high;  // "file: id(sev)" for severity >= 7
  std::vector<std::string> ids;
};

Result ScanDir(const std::string& dir) {
  Result r;
  auto detectors = MakeContentDetectors();
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    auto data = content_test::ReadFile(entry.path());
    if (!data) continue;
    ++r.files;
    Object o = MakeObject(entry.path().filename().string(), *data);
    for (auto& d : detectors) {
      if (!d->Accepts(o)) continue;
      Collector c;
      EXPECT_NO_THROW(d->Analyze(o, c)) << entry.path() << " " << d->Name();
      for (const auto& f : c.findings) {
        r.ids.push_back(o.name + ": " + f.id);
        if (f.severity >= 7) r.high.push_back(o.name + ": " + f.id + "(" + std::to_string(f.severity) + ")");
      }
    }
  }
  return r;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(ContentCorpus, MailCorpus) {
  const std::string dir = AIRLOCK_SOURCE_DIR "/../shared/reference/mime-corpus/resources/eml";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "reference corpus not present: " << dir;
  Result r = ScanDir(dir);
  EXPECT_GT(r.files, 300u);
  EXPECT_TRUE(r.high.empty()) << r.high.front();
}

TEST(ContentCorpus, OfficeCorpus) {
  const std::string dir = AIRLOCK_SOURCE_DIR "/../shared/reference/office-samples/tests/test-data";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "reference corpus not present: " << dir;
  Result r = ScanDir(dir);
  EXPECT_GT(r.files, 20u);
  EXPECT_TRUE(r.high.empty()) << r.high.front();
}

TEST(ContentCorpus, ClamavTestFiles) {
  const std::string dir = "/usr/share/clamav-testfiles";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "apt-get install clamav-testfiles";
  Result r = ScanDir(dir);
  EXPECT_GT(r.files, 30u);
  EXPECT_TRUE(Contains(r.ids, "clam.exe.html: html.data_uri_payload"));
  EXPECT_TRUE(Contains(r.ids, "clam.pdf: pdf.embedded_file"));
  // A PE named .exe at top level is not mail: nothing to say by name. Under a document name it is.
  EXPECT_FALSE(Contains(r.ids, "clam.exe: name.type_mismatch"));
  auto pe = content_test::ReadFile(dir + "/clam.exe");
  ASSERT_TRUE(pe.has_value());
  Collector c = content_test::RunDetector(*MakeNameTypeDetector(), MakeObject("clam.doc", *pe));
  EXPECT_TRUE(c.Has("name.type_mismatch")) << c.Ids();
}

}  // namespace
}  // namespace airlock::scan
