// libFuzzer target: the RTF parser and the RTF analyzer (objects, OLE1, packages, monikers).
#include <cstddef>
#include <cstdint>
#include <string>

#include "scan/detectors/office/office_analyzers.h"
#include "scan/detectors/office/rtf_parser.h"

namespace {
class NullOutput : public airlock::scan::AnalyzerOutput {
 public:
  void AddFinding(airlock::scan::Finding) override {}
  bool AddChild(std::string, std::string) override { return true; }
  uint64_t RemainingBytes() const override { return 64u << 20; }
  bool TimeUp() const override { return false; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input = "{\\rt" + std::string(reinterpret_cast<const char*>(data), size);
  (void)airlock::scan::office::ParseRtf(input);
  airlock::scan::Object obj;
  obj.name = "fuzz.rtf";
  obj.data = input;
  NullOutput out;
  airlock::scan::office::MakeRtfAnalyzer()->Analyze(obj, out);
  return 0;
}
