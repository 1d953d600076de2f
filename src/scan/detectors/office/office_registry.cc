// Placeholder until the office detectors land: owned by the office detector family.
#include "scan/analyzer.h"

namespace airlock::scan {
std::vector<std::unique_ptr<Analyzer>> MakeOfficeDetectors() { return {}; }
}  // namespace airlock::scan
