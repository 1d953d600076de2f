// Bad input never crashes or hangs: every corpus document (and OLE/RTF/XML files generated here) is
// truncated at many points and mutated with a fixed-seed PRNG, and each variant goes through every
// Office analyzer and the children they produce.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "office_test_support.h"

namespace airlock::scan::office::testing {
namespace {

std::vector<std::pair<std::string, std::string>> Seeds() {
  std::vector<std::pair<std::string, std::string>> seeds;
  for (const auto& e : std::filesystem::recursive_directory_iterator(CorpusDir())) {
    if (!e.is_regular_file() || e.file_size() > 200000) continue;
    std::string name = e.path().filename().string();
    std::string data = ReadFileOrDie(e.path().string());
    if (name.ends_with(".zip")) {
      for (auto& m : ReadZip(data, kCorpusPassword)) seeds.emplace_back(m.name, std::move(m.data));
    } else if (data.starts_with("PK")) {
      for (auto& m : ReadZip(data)) seeds.emplace_back(m.name, std::move(m.data));
    } else {
      seeds.emplace_back(name, std::move(data));
    }
  }
  seeds.emplace_back("vbaProject.bin",
                     MakeOle(VbaProjectStreams("", {{"Module1", "Sub AutoOpen()\r\n Shell \"x\"\r\nEnd Sub\r\n"}})));
  seeds.emplace_back("x.rtf", "{\\rtf1{\\field{\\*\\fldinst DDEAUTO a b}}{\\object\\objupdate{\\*\\objclass Package}"
                              "{\\*\\objdata 0105000002000000080000005061636b61676500000000000000000010000000"
                              "0200612e65786500613a5c612e65786500000003000000000004000000414243440000}}}");
  return seeds;
}

TEST(Robustness, TruncatedAndMutatedInputsNeverCrash) {
  auto seeds = Seeds();
  ASSERT_GE(seeds.size(), 30u);
  std::mt19937 rng(20261127);
  size_t variants = 0;
  for (const auto& [name, data] : seeds) {
    if (data.empty()) continue;
    // Truncations.
    for (int i = 1; i <= 8; ++i) {
      (void)ScanTree(name, data.substr(0, data.size() * i / 9));
      ++variants;
    }
    // Byte flips, concentrated on the first 4 KiB where headers and directories live.
    for (int round = 0; round < 40; ++round) {
      std::string m = data;
      const int flips = 1 + static_cast<int>(rng() % 16);
      for (int k = 0; k < flips; ++k) {
        const size_t span = (rng() % 2) ? std::min<size_t>(m.size(), 4096) : m.size();
        m[rng() % span] = static_cast<char>(rng());
      }
      (void)ScanTree(name, m);
      ++variants;
    }
  }
  EXPECT_GT(variants, 1500u);
}

}  // namespace
}  // namespace airlock::scan::office::testing

namespace airlock::scan::office::testing {
namespace {

// Inputs shaped to make naive scanners quadratic; each must finish (no timing assertion: a hang
// would trip the test timeout).
TEST(Robustness, AdversarialShapesStayLinear) {
  std::string pipes = "=" + std::string(1 << 20, '|') + "!";
  (void)ScanTree("pipes.csv", pipes);
  std::string wide_fields;
  for (int i = 0; i < 200000; ++i) wide_fields += std::string("\x13\x00\x41\x13\x00\x41", 6);
  (void)ScanTree("w.doc", MakeOle({{"WordDocument", wide_fields}}));
  std::string opens;
  for (int i = 0; i < 200000; ++i) opens += "open ";
  auto r = ScanTree("vbaProject.bin", MakeOle(VbaProjectStreams("", {{"Module1", opens}})));
  EXPECT_TRUE(r.Has("office.vba.macro"));
  std::string deep_xml;
  for (int i = 0; i < 200000; ++i) deep_xml += "<w:fldChar w:fldCharType=\"begin\"/>";
  (void)ScanTree("word/document.xml", deep_xml);
  std::string rtf = "{\\rtf1";
  for (int i = 0; i < 100000; ++i) rtf += "{\\object{\\*\\objdata 01}";
  (void)ScanTree("many.rtf", rtf);
}

}  // namespace
}  // namespace airlock::scan::office::testing
