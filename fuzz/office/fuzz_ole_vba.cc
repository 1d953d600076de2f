// libFuzzer target: OLE2 reading through libgsf, VBA project extraction and every OLE check of the
// Office analyzer (XLM, DDE in WordDocument, packages, monikers, PowerPoint storages).
#include <cstddef>
#include <cstdint>
#include <string>

#include "scan/detectors/office/office_analyzers.h"
#include "scan/detectors/office/ole_file.h"
#include "scan/detectors/office/vba_project.h"

namespace {
class NullOutput : public airlock::scan::AnalyzerOutput {
 public:
  void AddFinding(airlock::scan::Finding) override {}
  bool AddChild(std::string, std::string data) override {
    used_ += data.size();
    return used_ < (64u << 20);
  }
  uint64_t RemainingBytes() const override { return used_ < (64u << 20) ? (64u << 20) - used_ : 0; }
  bool TimeUp() const override { return false; }

 private:
  uint64_t used_ = 0;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto ole = airlock::scan::office::OleFile::Open(in)) (void)airlock::scan::office::ExtractVba(*ole, 1u << 20);
  airlock::scan::Object obj;
  obj.name = "fuzz.doc";
  obj.path = "fuzz.doc";
  obj.data = in;
  NullOutput out;
  auto analyzer = airlock::scan::office::MakeOleAnalyzer();
  if (analyzer->Accepts(obj)) analyzer->Analyze(obj, out);
  return 0;
}
