// Registry of the content detector family (see content_detectors.h).
#include "scan/detectors/content/content_detectors.h"

namespace airlock::scan {

std::vector<std::unique_ptr<Analyzer>> MakeContentDetectors() {
  std::vector<std::unique_ptr<Analyzer>> all;
  all.push_back(MakeNameTypeDetector());
  all.push_back(MakePdfDetector());
  all.push_back(MakeSmugglingDetector());
  all.push_back(MakeScriptDetector());
  all.push_back(MakeElfDetector());
  return all;
}

}  // namespace airlock::scan
