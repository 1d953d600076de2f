// RTF: DDE fields, embedded OLE objects (\object/\objdata decoded to OLE1), Equation Editor,
// OLE2Link/URL monikers, packaged files, \objupdate.
#include "scan/detectors/office/bytes.h"
#include "scan/detectors/office/dde.h"
#include "scan/detectors/office/embedded.h"
#include "scan/detectors/office/office_analyzers.h"
#include "scan/detectors/office/ole_file.h"
#include "scan/detectors/office/ole_native.h"
#include "scan/detectors/office/rtf_parser.h"

namespace airlock::scan::office {
namespace {

constexpr size_t kMaxObjectFindings = 32;

void AnalyzeObject(const RtfObject& obj, size_t index, const std::string& where, AnalyzerOutput& out) {
  std::string class_name = obj.class_name;
  std::string_view payload = obj.data;
  auto ole1 = ParseOle1(obj.data);
  if (ole1) {
    if (class_name.empty()) class_name = ole1->class_name;
    if (!ole1->native.empty()) payload = ole1->native;
  }
  std::string evidence = "class=" + (class_name.empty() ? std::string("?") : class_name) +
                         " size=" + std::to_string(obj.data.size());
  if (ole1 && !ole1->topic.empty()) evidence += " link=" + ole1->topic;
  out.AddFinding(Finding{"office.rtf.object", 3, "Embedded OLE object in RTF " + where,
                         "RTF documents carry OLE objects to exploit OLE handlers or to deliver files.", evidence,
                         {}});
  if (obj.objupdate) {
    out.AddFinding(Finding{"office.rtf.objupdate", 2, "RTF object forced to update on open",
                           "\\objupdate makes Word activate the object as the document opens, a common "
                           "exploit trigger.",
                           evidence, {"T1203"}});
  }
  ReportEquationAndMonikers(obj.data, class_name, "office.rtf", where, out);
  if (ole1 && ole1->format_id == 1 && !ole1->topic.empty() && FindEmbeddedUrl(ole1->topic)) {
    out.AddFinding(Finding{"office.rtf.ole2link", 7, "Linked OLE object pointing to a URL in " + where,
                           "A linked object whose source is remote fetches content when the document opens.",
                           ole1->topic, {"T1221"}});
  }
  if (ToLowerAscii(Trim(class_name)) == "package") {
    if (auto pkg = ParsePackage(payload, false)) {
      ReportPackage(*pkg, where, out);
      return;
    }
  }
  if (LooksLikeOle(payload) && payload.size() <= out.RemainingBytes()) {
    out.AddChild("rtf_object" + std::to_string(index) + ".ole", std::string(payload));
  } else if (!payload.empty() && payload.size() <= out.RemainingBytes()) {
    out.AddChild("rtf_object" + std::to_string(index) + ".bin", std::string(payload));
  }
}

class RtfAnalyzer : public Analyzer {
 public:
  std::string_view Name() const override { return "office.rtf"; }
  bool Accepts(const Object& object) const override { return LooksLikeRtf(object.data); }
  void Analyze(const Object& object, AnalyzerOutput& out) override {
    const std::string where = Where(object);
    RtfDocument doc = ParseRtf(object.data);
    size_t dde = 0;
    for (const auto& instr : doc.field_instructions) {
      if (auto cmd = DdeFieldCommand(instr); cmd && dde++ < 32) out.AddFinding(DdeFieldFinding(*cmd, "RTF " + where));
    }
    for (size_t i = 0; i < doc.objects.size() && i < kMaxObjectFindings && !out.TimeUp(); ++i) {
      AnalyzeObject(doc.objects[i], i + 1, where, out);
    }
    if (doc.depth_exceeded) {
      out.AddFinding(Finding{"office.rtf.deep_nesting", 3, "RTF nests groups unusually deep",
                             "Exploit RTFs nest thousands of groups to break parsers and hide objects.",
                             "max depth " + std::to_string(doc.max_depth), {"T1027"}});
    }
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeRtfAnalyzer() { return std::make_unique<RtfAnalyzer>(); }

}  // namespace airlock::scan::office
