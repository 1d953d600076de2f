// Collects the detector families. Each family lives in its own static library so it can be built and
// tested alone: detectors/office (OLE2, OOXML, ODF, RTF: macros, DDE, template injection, embedded
// objects) and detectors/content (names/types, PDF, HTML/SVG smuggling, scripts, ELF).
#include "scan/analyzer.h"

namespace airlock::scan {

std::vector<std::unique_ptr<Analyzer>> MakeOfficeDetectors();
std::vector<std::unique_ptr<Analyzer>> MakeContentDetectors();

std::vector<std::unique_ptr<Analyzer>> MakeDetectors() {
  std::vector<std::unique_ptr<Analyzer>> all = MakeOfficeDetectors();
  for (auto& d : MakeContentDetectors()) all.push_back(std::move(d));
  return all;
}

}  // namespace airlock::scan
