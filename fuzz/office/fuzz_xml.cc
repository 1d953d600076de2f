// libFuzzer target: the XML part analyzer (fields, rels, ddeLink, flat OPC, ODF Basic, ActiveMime).
#include <cstddef>
#include <cstdint>
#include <string>

#include "scan/detectors/office/office_analyzers.h"

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
  airlock::scan::Object obj;
  obj.name = "word/document.xml";
  obj.data = std::string_view(reinterpret_cast<const char*>(data), size);
  NullOutput out;
  airlock::scan::office::MakeXmlAnalyzer()->Analyze(obj, out);
  airlock::scan::office::MakeSheetTextAnalyzer()->Analyze(obj, out);
  return 0;
}
