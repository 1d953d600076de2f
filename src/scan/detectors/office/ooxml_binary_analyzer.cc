// Binary members of OOXML packages that are not OLE2: .xlsb external links (DDE) and macro sheets,
// ActiveX control parts; and ActiveMime blobs (editdata.mso from MHT documents) whatever their name. OLE2 members (vbaProject.bin, oleObject*.bin, activeX*.bin) are judged by
// the OLE analyzer as well.
#include "scan/detectors/office/biff.h"
#include "scan/detectors/office/bytes.h"
#include "scan/detectors/office/dde.h"
#include "scan/detectors/office/embedded.h"
#include "scan/detectors/office/office_analyzers.h"

namespace airlock::scan::office {
namespace {

class OoxmlBinaryAnalyzer : public Analyzer {
 public:
  std::string_view Name() const override { return "office.ooxml_binary"; }
  bool Accepts(const Object& object) const override {
    return NameHas(object, "externalLinks/") || NameHas(object, "macrosheets/") || NameHas(object, "activeX/") ||
           object.data.starts_with("ActiveMime");
  }
  void Analyze(const Object& object, AnalyzerOutput& out) override {
    const std::string where = Where(object);
    if (object.data.starts_with("ActiveMime")) {
      // An MHT/"Word 2003 XML" editdata.mso part unpacked by the engine: its OLE payload is the VBA.
      ExtractActiveMime(object.data, std::string(BaseName(object.name)) + ".ole", out);
      return;
    }
    if (NameHas(object, "externalLinks/") && NameHas(object, ".bin")) {
      size_t n = 0;
      for (const auto& link : ParseBiff12DdeLinks(object.data)) {
        if (n++ < 16) out.AddFinding(DdeFormulaFinding(link, where));
      }
    }
    if (NameHas(object, "macrosheets/") && NameHas(object, ".bin")) {
      out.AddFinding(Finding{"office.xlm.macrosheet", 6, "Excel 4.0 (XLM) macro sheet in " + where,
                             "XLM macro sheets run formulas such as EXEC and CALL; they are a favourite of "
                             "malicious workbooks.",
                             object.name, {"T1059"}});
    }
    if (NameHas(object, "activeX/") && EndsWithIcase(object.name, ".xml")) {
      out.AddFinding(Finding{"office.activex", 3, "ActiveX control in " + where,
                             "ActiveX controls give macros event triggers (e.g. InkPicture1_Painted) and "
                             "can instantiate COM objects.",
                             object.name, {"T1559.001"}});
    }
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeOoxmlBinaryAnalyzer() { return std::make_unique<OoxmlBinaryAnalyzer>(); }

}  // namespace airlock::scan::office
