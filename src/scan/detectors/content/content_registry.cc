// Placeholder until the content detectors land: owned by the content detector family.
#include "scan/analyzer.h"

namespace airlock::scan {
std::vector<std::unique_ptr<Analyzer>> MakeContentDetectors() { return {}; }
}  // namespace airlock::scan
