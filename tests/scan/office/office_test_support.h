// Test support for the Office detectors: a real collecting AnalyzerOutput, a small tree walker that
// plays the engine's part (runs every Office analyzer on an object and on the children it returns,
// and unpacks zip containers such as OOXML/ODF into members), and corpus access (libarchive with
// passphrase for the encrypted sample zips).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scan/analyzer.h"

namespace airlock::scan::office::testing {

struct Child {
  std::string name;
  std::string data;
};

class Collector : public AnalyzerOutput {
 public:
  void AddFinding(Finding finding) override { findings.push_back(std::move(finding)); }
  bool AddChild(std::string name, std::string data) override {
    if (data.size() > RemainingBytes()) return false;
    used += data.size();
    children.push_back(Child{std::move(name), std::move(data)});
    return true;
  }
  uint64_t RemainingBytes() const override { return budget > used ? budget - used : 0; }
  bool TimeUp() const override { return false; }

  std::vector<Finding> findings;
  std::vector<Child> children;
  uint64_t budget = 256u << 20;
  uint64_t used = 0;
};

struct PathFinding {
  std::string path;  // "sample.docx > word/document.xml"
  Finding finding;
};

struct TreeResult {
  std::vector<PathFinding> findings;
  std::vector<std::string> objects;  // display paths of every object visited
  std::vector<Child> leaves;         // every child produced by an analyzer (name, data)

  bool Has(std::string_view id) const;
  // Findings with this id.
  std::vector<Finding> With(std::string_view id) const;
  int MaxSeverity() const;
  std::string Describe() const;  // one line per finding, for failure messages
};

// Runs all Office analyzers over `data` and, recursively (depth <= 6), over children and zip members.
TreeResult ScanTree(const std::string& name, std::string data);

// Runs one analyzer kind over a single object (no recursion).
Collector RunAll(const std::string& name, std::string_view data);

std::string ReadFileOrDie(const std::string& path);
// Members of a (possibly encrypted) zip read with libarchive; directories are skipped.
std::vector<Child> ReadZip(std::string_view data, const char* passphrase = nullptr);

// Directory of oletools' test corpus (read in place).
std::string CorpusDir();
// The oletools corpus is reference data outside the repository (../shared/reference): a clone
// without it skips the tests that read it, saying so.
bool CorpusPresent();
#define AIRLOCK_NEED_OFFICE_CORPUS() \
  if (!::airlock::scan::office::testing::CorpusPresent()) GTEST_SKIP() << "oletools corpus not present: " << CorpusDir()
inline constexpr const char* kCorpusPassword = "infected-test";

}  // namespace airlock::scan::office::testing

namespace airlock::scan::office::testing {

// A greedy MS-OVBA compressor written from the specification (2.4.1.3): literal and copy tokens per
// 4096-byte chunk, raw chunks when compression does not pay.
std::string OvbaCompress(std::string_view in);

struct OleStream {
  std::string path;  // "Macros/VBA/dir"; storages are created as needed
  std::string data;
};
// Writes a Compound File with libgsf's writer. `root_clsid` (16 raw bytes) when not empty.
std::string MakeOle(const std::vector<OleStream>& streams, std::string_view root_clsid = {});

// A vbaProject.bin-style project: "<prefix>VBA/dir", "<prefix>VBA/<module>" (source compressed at
// offset 0 after `junk_before_source` junk bytes, like the p-code Office puts first), "<prefix>PROJECT".
std::vector<OleStream> VbaProjectStreams(const std::string& prefix,
                                         const std::vector<std::pair<std::string, std::string>>& modules,
                                         size_t junk_before_source = 37);

}  // namespace airlock::scan::office::testing
