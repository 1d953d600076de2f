// XML parts: OOXML members (document.xml fields, *.rels external targets, externalLinks ddeLink, sheet
// formulas, macro sheets), Word 2003 XML (fields, w:binData ActiveMime VBA), Excel 2003 XML (DDE
// formulas), flat OPC packages (pkg:binaryData parts become children) and ODF (Basic/ macro modules,
// document event listeners). One pass over the tokens does all of it.
#include "scan/detectors/office/bytes.h"
#include "scan/detectors/office/dde.h"
#include "scan/detectors/office/embedded.h"
#include "scan/detectors/office/office_analyzers.h"
#include "scan/detectors/office/ole_file.h"
#include "scan/detectors/office/vba_scan.h"
#include "scan/detectors/office/xml_lite.h"

namespace airlock::scan::office {
namespace {

constexpr size_t kMaxCapture = 64u << 20;
constexpr size_t kMaxFindingsPerKind = 32;

struct Field {
  std::string instr;
  bool separated = false;
};

// What text tokens are currently collected into.
enum class Capture { kNone, kInstrText, kFormula, kBinaryData, kBinData, kBasicModule };

class XmlPass {
 public:
  XmlPass(const Object& object, AnalyzerOutput& out) : object_(object), out_(out), where_(Where(object)) {}

  void Run() {
    XmlLite xml(object_.data);
    XmlToken t;
    while (xml.Next(t)) {
      if (out_.TimeUp()) break;
      switch (t.kind) {
        case XmlToken::Kind::kText:
          OnText(t.text);
          break;
        case XmlToken::Kind::kStart:
          OnStart(t, false);
          break;
        case XmlToken::Kind::kEmpty:
          OnStart(t, true);
          OnEnd(t.name);
          break;
        case XmlToken::Kind::kEnd:
          OnEnd(t.name);
          break;
      }
    }
    while (!fields_.empty()) EndField();
  }

 private:
  void OnText(std::string_view text) {
    if (capture_ == Capture::kNone) return;
    if (captured_.size() + text.size() > kMaxCapture) return;
    captured_.append(text);
  }

  void OnStart(const XmlToken& t, bool empty) {
    const std::string_view n = t.name;
    if (n == "fldChar") {
      auto type = XmlAttr(t.attrs, "fldCharType");
      if (type == "begin") {
        if (fields_.size() < 64) fields_.push_back(Field{});
      } else if (type == "separate") {
        if (!fields_.empty()) fields_.back().separated = true;
      } else if (type == "end") {
        EndField();
      }
    } else if (n == "instrText" && !empty) {
      Begin(Capture::kInstrText);
    } else if (n == "fldSimple") {
      if (auto instr = XmlAttr(t.attrs, "instr")) CheckField(*instr);
    } else if (n == "ddeLink") {
      auto service = XmlAttr(t.attrs, "ddeService").value_or("");
      auto topic = XmlAttr(t.attrs, "ddeTopic").value_or("");
      Add(DdeFormulaFinding("=" + service + "|'" + topic + "'!", where_), dde_count_);
    } else if (n == "f" && !empty) {
      Begin(Capture::kFormula);
    } else if (n == "Relationship") {
      OnRelationship(t.attrs);
    } else if (n == "part") {
      part_name_ = XmlAttr(t.attrs, "name").value_or("");
    } else if (n == "binaryData" && !empty) {
      Begin(Capture::kBinaryData);
    } else if (n == "binData" && !empty) {
      bindata_name_ = XmlAttr(t.attrs, "name").value_or("");
      Begin(Capture::kBinData);
    } else if (n == "module" && !empty && XmlAttr(t.attrs, "language")) {
      module_name_ = XmlAttr(t.attrs, "name").value_or("module");
      Begin(Capture::kBasicModule);
    } else if (n == "definedName") {
      // xlsx/xlsm workbook.xml: an Auto_Open defined name starts an XLM macro when the book opens.
      const std::string name = XmlAttr(t.attrs, "name").value_or("");
      if (StartsWithIcase(name, "_xlnm.Auto_Open") || StartsWithIcase(name, "Auto_Open")) {
        Add(Finding{"office.xlm.auto_open", 6, "Workbook defines " + name,
                    "An Auto_Open name runs the Excel 4.0 macro it points to when the workbook opens.",
                    name, {"T1059"}},
            event_count_);
      }
    } else if (n == "customUI") {
      // Ribbon customization (customUI/customUI14.xml): onLoad names a macro run when the ribbon loads.
      if (auto on_load = XmlAttr(t.attrs, "onLoad"); on_load && !on_load->empty()) {
        Add(Finding{"office.customui.onload", 4, "Ribbon onLoad callback runs macro " + *on_load,
                    "A customUI part with onLoad calls a macro as the document opens, a less watched "
                    "auto-exec trigger.",
                    "onLoad=" + *on_load, {"T1059.005", "T1137"}},
            event_count_);
      }
    } else if (n == "event-listener") {
      OnEventListener(t.attrs);
    } else if (n == "macrosheet" && !macrosheet_reported_) {
      macrosheet_reported_ = true;
      out_.AddFinding(Finding{"office.xlm.macrosheet", 6, "Excel 4.0 (XLM) macro sheet in " + where_,
                              "XLM macro sheets run formulas such as EXEC and CALL; they are a favourite of "
                              "malicious workbooks.",
                              std::string(object_.name), {"T1059"}});
    }
    // Excel 2003 XML keeps formulas in ss:Formula attributes.
    if (t.attrs.find("Formula") != std::string_view::npos) {
      if (auto formula = XmlAttr(t.attrs, "Formula")) {
        if (auto dde = DdeFormula(*formula)) Add(DdeFormulaFinding(*dde, where_), dde_count_);
      }
    }
  }

  void OnEnd(std::string_view n) {
    if (n == "instrText" && capture_ == Capture::kInstrText) {
      std::string text = XmlDecode(End());
      if (fields_.empty()) {
        CheckField(text);  // an instrText outside fldChar markers: judge it alone
      } else if (!fields_.back().separated && fields_.back().instr.size() < 8192) {
        fields_.back().instr += text;
      }
    } else if (n == "f" && capture_ == Capture::kFormula) {
      std::string formula = "=" + XmlDecode(End());
      if (auto dde = DdeFormula(formula)) Add(DdeFormulaFinding(*dde, where_), dde_count_);
    } else if (n == "binaryData" && capture_ == Capture::kBinaryData) {
      std::string bytes = Base64Decode(End(), out_.RemainingBytes());
      std::string name(part_name_.empty() ? "part.bin" : part_name_);
      if (!name.empty() && name.front() == '/') name.erase(0, 1);
      if (!bytes.empty()) out_.AddChild(name, std::move(bytes));
    } else if (n == "binData" && capture_ == Capture::kBinData) {
      OnBinData(Base64Decode(End(), out_.RemainingBytes()));
    } else if (n == "module" && capture_ == Capture::kBasicModule) {
      std::string source = XmlDecode(End());
      MacroTraits traits = ScanMacroSource(source);
      auto findings = MacroFindings("odf", traits, {module_name_});
      findings.front().title += " in " + where_;
      findings.front().evidence += "\n" + source.substr(0, 4096);
      for (auto& f : findings) out_.AddFinding(std::move(f));
      out_.AddChild(module_name_ + ".bas", std::move(source));
    }
  }

  void Begin(Capture c) {
    capture_ = c;
    captured_.clear();
  }
  std::string End() {
    capture_ = Capture::kNone;
    return std::move(captured_);
  }

  void EndField() {
    if (fields_.empty()) return;
    std::string instr = std::move(fields_.back().instr);
    fields_.pop_back();
    CheckField(instr);
  }

  void CheckField(std::string_view instr) {
    if (auto cmd = DdeFieldCommand(instr)) Add(DdeFieldFinding(*cmd, where_), dde_count_);
  }

  void Add(Finding f, size_t& counter) {
    if (counter++ < kMaxFindingsPerKind) out_.AddFinding(std::move(f));
  }

  void OnRelationship(std::string_view attrs) {
    auto mode = XmlAttr(attrs, "TargetMode");
    if (!mode || !StartsWithIcase(*mode, "External")) return;
    const std::string type = XmlAttr(attrs, "Type").value_or("");
    const std::string target = XmlAttr(attrs, "Target").value_or("");
    const std::string_view kind = BaseName(type);
    int severity = 0;
    std::string what;
    if (kind == "attachedTemplate") {
      severity = 7;
      what = "Remote template";
    } else if (kind == "oleObject") {
      severity = 7;
      what = "Remote OLE object";
    } else if (kind == "frame" || kind == "subDocument") {
      severity = 6;
      what = kind == "frame" ? "Remote frame" : "Remote sub-document";
    } else {
      return;  // hyperlinks and images are ordinary
    }
    if (StartsWithIcase(target, "mhtml:") || ContainsIcase(target, "!x-usc:")) severity = 8;  // CVE-2021-40444 style
    Add(Finding{"office.template.external", severity, what + " loaded from " + target,
                "The document fetches content from an external location when opened (template "
                "injection); the fetched part can carry macros or exploits that the scanned file does not.",
                kind == "attachedTemplate" ? target : std::string(kind) + ": " + target, {"T1221"}},
        external_count_);
  }

  void OnEventListener(std::string_view attrs) {
    const std::string event = XmlAttr(attrs, "event-name").value_or("");
    const std::string href = XmlAttr(attrs, "href").value_or(XmlAttr(attrs, "macro-name").value_or(""));
    if (!ContainsIcase(href, "script") && !ContainsIcase(href, "macro")) return;
    const bool on_open = ContainsIcase(event, "load") || ContainsIcase(event, "open") || ContainsIcase(event, "new");
    Add(Finding{"office.odf.autoexec", on_open ? 6 : 4, "Document event runs a macro (" + event + ")",
                "An ODF document event bound to a macro runs it without a further user action.",
                event + " -> " + href, {"T1059.005", "T1204.002"}},
        event_count_);
  }

  // Word 2003 XML embeds the VBA project as an ActiveMime ("editdata.mso") blob: a header then a
  // zlib stream holding an OLE2 file.
  void OnBinData(std::string bytes) {
    if (bytes.empty()) return;
    if (ExtractActiveMime(bytes, bindata_name_.empty() ? "editdata.ole" : bindata_name_ + ".ole", out_)) return;
    out_.AddChild(bindata_name_.empty() ? "bindata.bin" : std::string(BaseName(bindata_name_)), std::move(bytes));
  }

  const Object& object_;
  AnalyzerOutput& out_;
  std::string where_;
  std::vector<Field> fields_;
  Capture capture_ = Capture::kNone;
  std::string captured_;
  std::string part_name_;
  std::string bindata_name_;
  std::string module_name_;
  bool macrosheet_reported_ = false;
  size_t dde_count_ = 0;
  size_t external_count_ = 0;
  size_t event_count_ = 0;
};

class XmlAnalyzer : public Analyzer {
 public:
  std::string_view Name() const override { return "office.xml"; }
  bool Accepts(const Object& object) const override {
    std::string_view d = object.data;
    if (d.starts_with("\xEF\xBB\xBF")) d.remove_prefix(3);
    d = Trim(d.substr(0, 512));
    if (!d.starts_with("<")) return false;
    return d.starts_with("<?xml") || NameHas(object, ".xml") || NameHas(object, ".rels") ||
           NameHas(object, ".vml") || ContainsIcase(object.mime, "xml");
  }
  void Analyze(const Object& object, AnalyzerOutput& out) override { XmlPass(object, out).Run(); }
};

}  // namespace

std::unique_ptr<Analyzer> MakeXmlAnalyzer() { return std::make_unique<XmlAnalyzer>(); }

}  // namespace airlock::scan::office
