// mbox files (a file starting with a "From " line) split into one child per message,
// "message-<n>.eml", at every "From " line that starts the file or follows an empty line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scan/analyzer.h"

namespace airlock::scan {

class MboxUnpacker final : public Analyzer {
 public:
  std::string_view Name() const override { return "mbox"; }
  bool Accepts(const Object& object) const override;
  void Analyze(const Object& object, AnalyzerOutput& out) override;
};

// The messages of an mbox, without their "From " separator lines.
std::vector<std::string_view> SplitMbox(std::string_view data);

}  // namespace airlock::scan
