// Inline uuencoded files ("begin <mode> <name>" ... "end") in text objects, as found in old mail
// bodies and news posts; each block becomes a child named as the block says.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scan/analyzer.h"

namespace airlock::scan {

class UuencodeUnpacker final : public Analyzer {
 public:
  std::string_view Name() const override { return "uuencode"; }
  bool Accepts(const Object& object) const override;
  void Analyze(const Object& object, AnalyzerOutput& out) override;
};

struct UuBlock {
  std::string name;
  std::string data;
};
// Decodes every well-formed block; output is bounded by the input size. Malformed lines are skipped.
std::vector<UuBlock> DecodeUuencoded(std::string_view text, size_t max_blocks = 64);

}  // namespace airlock::scan
