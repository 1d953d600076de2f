// libFuzzer entry point for one content detector, chosen at build time (AIRLOCK_FUZZ_<NAME>). The
// input is one object's bytes, offered under the names/mimes that make the detector accept it; the
// output sink enforces a byte budget like the engine's does. Any crash, sanitizer report, leak or
// timeout is a bug: detectors must survive arbitrary input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "scan/analyzer.h"
#include "scan/detectors/content/content_detectors.h"

namespace {

using airlock::scan::Analyzer;
using airlock::scan::AnalyzerOutput;
using airlock::scan::Finding;
using airlock::scan::Object;

class Sink final : public AnalyzerOutput {
 public:
  void AddFinding(Finding finding) override { findings_ += finding.id.size(); }
  bool AddChild(std::string, std::string data) override {
    if (data.size() > budget_) return false;
    budget_ -= data.size();
    return true;
  }
  uint64_t RemainingBytes() const override { return budget_; }
  bool TimeUp() const override { return false; }

 private:
  uint64_t budget_ = 64u << 20;
  size_t findings_ = 0;
};

std::unique_ptr<Analyzer> MakeTarget() {
#if defined(AIRLOCK_FUZZ_HTML_SVG)
  return airlock::scan::MakeSmugglingDetector();
#elif defined(AIRLOCK_FUZZ_PDF)
  return airlock::scan::MakePdfDetector();
#elif defined(AIRLOCK_FUZZ_SCRIPT)
  return airlock::scan::MakeScriptDetector();
#elif defined(AIRLOCK_FUZZ_ELF)
  return airlock::scan::MakeElfDetector();
#else
#error "define one AIRLOCK_FUZZ_<detector>"
#endif
}

#if defined(AIRLOCK_FUZZ_HTML_SVG)
constexpr const char* kNames[] = {"page.html", "image.svg"};
#elif defined(AIRLOCK_FUZZ_PDF)
constexpr const char* kNames[] = {"doc.pdf"};
#elif defined(AIRLOCK_FUZZ_SCRIPT)
constexpr const char* kNames[] = {"run.sh"};
#else
constexpr const char* kNames[] = {"prog"};
#endif

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<Analyzer> detector = MakeTarget();
  Object mail;
  mail.name = "m.eml";
  mail.mime = "message/rfc822";
  for (const char* name : kNames) {
    Object o;
    o.name = name;
    o.path = name;
    o.data = std::string_view(reinterpret_cast<const char*>(data), size);
    o.parent = &mail;
    o.depth = 1;
    Sink sink;
    if (detector->Accepts(o)) detector->Analyze(o, sink);
  }
  return 0;
}
