#include "scan/detectors/office/bytes.h"
#include "scan/detectors/office/office_analyzers.h"

namespace airlock::scan::office {

std::string Where(const Object& object) { return object.path.empty() ? object.name : object.path; }

bool NameHas(const Object& object, std::string_view fragment) {
  std::string_view path = object.path;
  const size_t sep = path.rfind(" > ");
  if (sep != std::string_view::npos) path.remove_prefix(sep + 3);
  return ContainsIcase(object.name, fragment) || ContainsIcase(path, fragment);
}

}  // namespace airlock::scan::office

namespace airlock::scan {

std::vector<std::unique_ptr<Analyzer>> MakeOfficeDetectors() {
  std::vector<std::unique_ptr<Analyzer>> all;
  all.push_back(office::MakeOleAnalyzer());
  all.push_back(office::MakeXmlAnalyzer());
  all.push_back(office::MakeRtfAnalyzer());
  all.push_back(office::MakeSheetTextAnalyzer());
  all.push_back(office::MakeOoxmlBinaryAnalyzer());
  return all;
}

}  // namespace airlock::scan
