// Internet mail (RFC 5322/2045) with GMime 3: every leaf part becomes a child, decoded from
// base64/quoted-printable/uuencode, named by its RFC 2231/2047-decoded filename or "part-<n>.<ext>";
// message/rfc822 parts become "<n>-attached.eml" children (unpacked in turn). Text bodies are children
// too, and the engine hands them to their siblings as context_text (archive passwords).
#pragma once

#include <string_view>

#include "scan/analyzer.h"

namespace airlock::scan {

class MimeUnpacker final : public Analyzer {
 public:
  MimeUnpacker();
  std::string_view Name() const override { return "mime"; }
  bool Accepts(const Object& object) const override;
  void Analyze(const Object& object, AnalyzerOutput& out) override;
};

// Heuristic used by Accepts(): header lines at the start of the data ("Name: value"), at least two of
// them well-known mail headers.
bool LooksLikeMail(std::string_view data);

}  // namespace airlock::scan
