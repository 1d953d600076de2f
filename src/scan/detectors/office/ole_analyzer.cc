// OLE2/CFB files: VBA projects, Excel 4.0 macro sheets, DDE fields in Word binaries, packaged files,
// Equation Editor objects and monikers, PowerPoint's compressed embedded storages. (Encryption is the
// office-decrypt unpacker's: src/scan/unpack/office_decrypt_unpacker.h.)
#include <algorithm>

#include "scan/detectors/office/biff.h"
#include "scan/detectors/office/bytes.h"
#include "scan/detectors/office/dde.h"
#include "scan/detectors/office/embedded.h"
#include "scan/detectors/office/inflate.h"
#include "scan/detectors/office/office_analyzers.h"
#include "scan/detectors/office/ole_file.h"
#include "scan/detectors/office/ole_native.h"
#include "scan/detectors/office/vba_project.h"
#include "scan/detectors/office/vba_scan.h"
#include "scan/detectors/office/word_text.h"

namespace airlock::scan::office {
namespace {

constexpr uint64_t kMaxStream = 64u << 20;

// True when the module has a line that is not blank and not an "Attribute VB_..." header line.
bool HasCode(std::string_view source) {
  size_t start = 0;
  while (start < source.size()) {
    size_t end = source.find('\n', start);
    if (end == std::string_view::npos) end = source.size();
    std::string_view line = Trim(source.substr(start, end - start));
    if (!line.empty() && !StartsWithIcase(line, "Attribute ")) return true;
    start = end + 1;
  }
  return false;
}

void AnalyzeVba(const OleFile& ole, const std::string& where, AnalyzerOutput& out) {
  VbaExtraction vba = ExtractVba(ole);
  if (vba.modules.empty()) {
    if (vba.has_vba_storage) {
      out.AddFinding(Finding{"office.vba.macro", 4, "Document contains a VBA project in " + where,
                             "A VBA storage is present but its modules could not be read.",
                             JoinList(vba.problems, 4), {"T1059.005"}});
    }
    return;
  }
  std::vector<std::string> names;
  std::string all;
  for (const auto& m : vba.modules) {
    names.push_back(m.name);
    all += m.source;
    all += '\n';
  }
  MacroTraits traits = ScanMacroSource(all);
  std::vector<Finding> findings = MacroFindings("vba", traits, names);
  // Evidence of presence: module names and, for readers, the code of the first non-empty module.
  bool any_code = false;
  for (const auto& m : vba.modules) {
    if (!HasCode(m.source)) continue;
    findings.front().evidence += "\n--- " + m.name + " ---\n" + m.source.substr(0, 4096);
    any_code = true;
    break;
  }
  if (!any_code) {  // only "Attribute VB_..." headers: Office leaves such empty projects behind
    findings.front().severity = 1;
    findings.front().explanation = "The VBA project holds no code (attribute lines only).";
  }
  findings.front().title += " in " + where;
  for (auto& f : findings) out.AddFinding(std::move(f));
  for (auto& m : vba.modules) {
    if (out.TimeUp() || !out.AddChild(m.name + ".vba", std::move(m.source))) break;
  }
}

void AnalyzeXlm(const OleFile& ole, const std::string& where, AnalyzerOutput& out) {
  for (const char* stream : {"Workbook", "Book"}) {
    if (!ole.HasStream(stream)) continue;
    auto data = ole.ReadStream(stream, kMaxStream);
    if (!data) return;
    BiffWorkbook wb = ParseBiff8Workbook(*data);
    std::vector<std::string> macro_sheets;
    XlmFormulas formulas;
    bool hidden = false;
    for (const auto& s : wb.sheets) {
      if (s.type != 1) continue;
      XlmFormulas f = ScanXlmSheet(*data, s.offset);
      formulas.formula_count += f.formula_count;
      for (auto& fn : f.functions) formulas.functions.push_back(std::move(fn));
      for (auto& str : f.strings) {
        if (formulas.strings.size() < 32) formulas.strings.push_back(std::move(str));
      }
      std::string state = s.state == 2 ? " (very hidden)" : s.state == 1 ? " (hidden)" : "";
      hidden = hidden || s.state != 0;
      macro_sheets.push_back(s.name + state);
    }
    if (!macro_sheets.empty()) {
      std::vector<std::string> techniques = {"T1059"};
      if (hidden) techniques.push_back("T1564");
      out.AddFinding(Finding{"office.xlm.macrosheet", (hidden || wb.auto_open_name) ? 7 : 6,
                             "Excel 4.0 (XLM) macro sheet in " + where,
                             "XLM macro sheets run formulas such as EXEC and CALL; they are a favourite of "
                             "malicious workbooks, often hidden and started by an Auto_Open name.",
                             "sheets: " + JoinList(macro_sheets) + (wb.auto_open_name ? "; Auto_Open name defined" : ""),
                             techniques});
    }
    if (!formulas.functions.empty()) {
      std::sort(formulas.functions.begin(), formulas.functions.end());
      formulas.functions.erase(std::unique(formulas.functions.begin(), formulas.functions.end()),
                               formulas.functions.end());
      const bool native = std::find(formulas.functions.begin(), formulas.functions.end(), "EXEC") ==
                          formulas.functions.end() || formulas.functions.size() > 1;
      std::vector<std::string> techniques = {"T1059"};
      if (native) techniques.push_back("T1106");
      out.AddFinding(Finding{"office.xlm.exec", 8, "Excel 4.0 macro runs programs or native code in " + where,
                             "Macro-sheet formulas call EXEC (start a program) or CALL/REGISTER (call DLL "
                             "exports such as URLDownloadToFileA or ShellExecuteA).",
                             "functions: " + JoinList(formulas.functions) + "; strings: " + JoinList(formulas.strings),
                             techniques});
    }
    return;
  }
}

// DDE fields of a Word binary: the fields of the piece-table text (with nesting), plus any field the
// raw stream scan finds that the piece table did not (damaged or crafted piece tables).
void AnalyzeWordDde(const OleFile& ole, const std::string& where, AnalyzerOutput& out) {
  if (!ole.HasStream("WordDocument")) return;
  auto data = ole.ReadStream("WordDocument", kMaxStream);
  if (!data) return;
  std::vector<std::string> commands;
  if (auto table_name = WordTableStreamName(*data)) {
    auto table = ole.ReadStream(*table_name, kMaxStream);
    if (table) {
      const bool one = *table_name == "1Table";
      if (auto text = ReadWordText(*data, one ? "" : *table, one ? *table : "")) {
        for (const auto& instr : FieldInstructions(*text)) {
          if (auto cmd = DdeFieldCommand(instr); cmd && commands.size() < 64) commands.push_back(*cmd);
        }
      }
    }
  }
  for (auto& cmd : FindDdeFieldsInWordBinary(*data)) {
    if (std::find(commands.begin(), commands.end(), cmd) == commands.end() && commands.size() < 64) {
      commands.push_back(std::move(cmd));
    }
  }
  for (const auto& cmd : commands) out.AddFinding(DdeFieldFinding(cmd, where));
}

void AnalyzeEmbedded(const OleFile& ole, const std::string& where, AnalyzerOutput& out) {
  std::string payload;  // what the class/moniker checks look at
  if (auto clsid = ole.RootClassId()) payload += *clsid;
  for (const auto& e : ole.entries()) {
    const std::string_view leaf = BaseName(e.path);
    if (e.is_storage) continue;
    if (leaf == "\x01Ole10Native") {
      auto data = ole.ReadStream(e.path, kMaxStream);
      if (!data) continue;
      if (auto pkg = ParsePackage(*data, true)) {
        ReportPackage(*pkg, where, out);
      } else if (!data->empty() && data->size() <= out.RemainingBytes()) {
        out.AddChild("Ole10Native.bin", data->substr(std::min<size_t>(4, data->size())));
      }
    } else if (leaf == "\x01Ole" || leaf == "\x01" "CompObj") {
      if (auto data = ole.ReadStream(e.path, 1u << 20)) payload += *data;
    } else if (leaf == "Equation Native") {
      payload += "Equation Native";
    }
  }
  const std::string cls = ContainsIcase(payload, "Equation.3") ? "Equation.3" : "";
  ReportEquationAndMonikers(payload, cls, "office.ole", where, out);
}

// PowerPoint keeps embedded storages (including the VBA project) zlib-compressed in ExOleObjStg
// records (type 0x1011) of the "PowerPoint Document" stream; they become children.
void AnalyzePowerPoint(const OleFile& ole, AnalyzerOutput& out) {
  if (!ole.HasStream("PowerPoint Document")) return;
  auto data = ole.ReadStream("PowerPoint Document", kMaxStream);
  if (!data) return;
  std::string_view s = *data;
  int found = 0;
  int attempts = 0;
  for (size_t pos = 0; pos + 8 <= s.size() && found < 64 && attempts < 256 && !out.TimeUp(); ++pos) {
    if (*ReadLe16(s, pos + 2) != 0x1011) continue;
    const uint16_t ver_inst = *ReadLe16(s, pos);
    const uint32_t len = *ReadLe32(s, pos + 4);
    if ((ver_inst & 0x0F) != 0 || len > s.size() - pos - 8 || len < 6) continue;
    std::string_view body = s.substr(pos + 8, len);
    std::string storage;
    ++attempts;
    if ((ver_inst >> 4) == 1) {  // compressed: u32 decompressed size, zlib data
      // Probe the first bytes before inflating everything, so fake records cost little.
      auto probe = InflateZlib(body.substr(4), 8);
      if (!probe || !LooksLikeOle(*probe)) continue;
      auto inflated = InflateZlib(body.substr(4), std::min<uint64_t>(out.RemainingBytes(), kMaxStream));
      if (!inflated) continue;
      storage = std::move(*inflated);
    } else {
      storage = std::string(body);
    }
    if (!LooksLikeOle(storage)) continue;
    ++found;
    if (!out.AddChild("ExOleObjStg" + std::to_string(found) + ".bin", std::move(storage))) return;
    pos += 8 + len - 1;
  }
}

class OleAnalyzer : public Analyzer {
 public:
  std::string_view Name() const override { return "office.ole"; }
  bool Accepts(const Object& object) const override { return LooksLikeOle(object.data); }
  void Analyze(const Object& object, AnalyzerOutput& out) override {
    auto ole = OleFile::Open(object.data);
    if (!ole) return;
    const std::string where = Where(object);
    AnalyzeVba(*ole, where, out);
    AnalyzeXlm(*ole, where, out);
    AnalyzeWordDde(*ole, where, out);
    AnalyzeEmbedded(*ole, where, out);
    AnalyzePowerPoint(*ole, out);
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeOleAnalyzer() { return std::make_unique<OleAnalyzer>(); }

}  // namespace airlock::scan::office
