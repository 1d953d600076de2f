// TNEF (winmail.dat, application/ms-tnef): every attachment it carries becomes a child object, named
// by its long file name (else its 8.3 title, else tnef-attachment-N), and so does the message body
// when it is compressed RTF ("message.rtf"). Parsing: scan/unpack/tnef.h.
#pragma once

#include <string_view>

#include "scan/analyzer.h"

namespace airlock::scan {

class TnefUnpacker final : public Analyzer {
 public:
  std::string_view Name() const override { return "tnef"; }
  bool Accepts(const Object& object) const override;
  void Analyze(const Object& object, AnalyzerOutput& out) override;
};

}  // namespace airlock::scan
