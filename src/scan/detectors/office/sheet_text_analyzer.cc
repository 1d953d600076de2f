// CSV and SYLK text spreadsheets: DDE formulas ("=cmd|' /C calc'!A0") and, in SYLK, Excel 4.0 (XLM)
// macros: formulas that run programs or native code (EXEC, CALL, REGISTER), and macro sheets
// (an `O;...;E` options record) that start themselves (an `NN;NAuto_open` name) and build or run
// formulas (FORMULA, RUN, GOTO, CHAR()-assembled text), the obfuscated form real SYLK droppers take.
#include <algorithm>

#include "scan/detectors/office/bytes.h"
#include "scan/detectors/office/dde.h"
#include "scan/detectors/office/office_analyzers.h"
#include "scan/detectors/office/vba_scan.h"

namespace airlock::scan::office {
namespace {

constexpr size_t kMaxLines = 1u << 20;
constexpr size_t kMaxFindings = 16;

bool LooksLikeSylk(std::string_view d) { return d.starts_with("ID;"); }

// SYLK fields of a record: split at ';' (";;" is an escaped semicolon inside a field).
std::vector<std::string> SylkFields(std::string_view line) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < line.size() && out.size() < 64; ++i) {
    if (line[i] == ';') {
      if (i + 1 < line.size() && line[i + 1] == ';') {
        out.back() += ';';
        ++i;
      } else {
        out.emplace_back();
      }
    } else {
      out.back() += line[i];
    }
  }
  return out;
}

// What a SYLK file's records say about macros.
struct SylkMacro {
  bool macro_sheet = false;              // O record with the E (macro sheet) flag
  std::string auto_open;                 // NN;NAuto_open... name record
  std::vector<std::string> builders;     // FORMULA, RUN, GOTO, ... seen in formulas
  size_t char_calls = 0;                 // CHAR( calls: text assembled code by code
  std::string sample;                    // first formula using a builder
};

constexpr std::string_view kBuilders[] = {"FORMULA(", "FORMULA.FILL(", "RUN(", "GOTO(", "SET.NAME(", "FOPEN(",
                                          "FWRITE(", "FWRITELN(", "HALT("};

size_t CountIcase(std::string_view hay, std::string_view needle) {
  size_t n = 0;
  for (size_t pos = 0; pos + needle.size() <= hay.size() && n < 100000; ++pos) {
    if (StartsWithIcase(hay.substr(pos), needle)) ++n;
  }
  return n;
}

class SheetTextAnalyzer : public Analyzer {
 public:
  std::string_view Name() const override { return "office.sheet_text"; }
  bool Accepts(const Object& object) const override {
    if (LooksLikeSylk(object.data)) return true;
    return NameHas(object, ".csv") || NameHas(object, ".slk") || NameHas(object, ".tsv") ||
           ContainsIcase(object.mime, "text/csv");
  }
  void Analyze(const Object& object, AnalyzerOutput& out) override {
    const std::string where = Where(object);
    const bool sylk = LooksLikeSylk(object.data);
    std::string_view d = object.data;
    size_t start = 0, lines = 0, findings = 0;
    SylkMacro macro;
    while (start < d.size() && lines++ < kMaxLines && findings < kMaxFindings) {
      size_t end = d.find_first_of(sylk ? "\r\n" : "\n", start);
      if (end == std::string_view::npos) end = d.size();
      std::string_view line = d.substr(start, std::min<size_t>(end - start, 65536));
      start = end + 1;
      if (sylk) {
        findings += SylkRecord(line, where, macro, out);
        continue;
      }
      if (auto dde = DdeFormula(line)) {
        out.AddFinding(DdeFormulaFinding(*dde, where));
        ++findings;
      }
    }
    if (sylk) ReportSylkMacro(macro, where, out);
  }

 private:
  // One SYLK record: C/F cells carry the formula in their E field (without '='); O is the options
  // record; NN defines a name. Returns the number of findings added.
  static size_t SylkRecord(std::string_view line, const std::string& where, SylkMacro& macro, AnalyzerOutput& out) {
    std::vector<std::string> f = SylkFields(line);
    if (f[0] == "O") {
      macro.macro_sheet = macro.macro_sheet || std::find(f.begin() + 1, f.end(), "E") != f.end();
      return 0;
    }
    if (f[0] == "NN") {
      for (const auto& field : f) {
        if (field.size() > 1 && field[0] == 'N' && StartsWithIcase(std::string_view(field).substr(1), "Auto_open")) {
          macro.auto_open = field.substr(1);
        }
      }
      return 0;
    }
    size_t added = 0;
    for (size_t i = 1; i < f.size(); ++i) {
      if (f[i].size() < 2 || f[i][0] != 'E') continue;
      std::string formula = "=" + f[i].substr(1);
      if (auto dde = DdeFormula(formula)) {
        out.AddFinding(DdeFormulaFinding(*dde, where));
        ++added;
      } else if (ContainsIcase(formula, "EXEC(") || ContainsIcase(formula, "CALL(") ||
                 ContainsIcase(formula, "REGISTER(")) {
        out.AddFinding(Finding{"office.xlm.formula", 7, "Executing Excel 4.0 formula in SYLK " + where,
                               "SYLK files carry XLM formulas that run programs or call DLL exports.",
                               CollapseSpaces(formula.substr(0, 1024)), {"T1059"}});
        ++added;
      }
      macro.char_calls += CountIcase(formula, "CHAR(");
      for (auto b : kBuilders) {
        if (!ContainsIcase(formula, b)) continue;
        std::string name(b.substr(0, b.size() - 1));
        if (std::find(macro.builders.begin(), macro.builders.end(), name) == macro.builders.end()) {
          macro.builders.push_back(name);
        }
        if (macro.sample.empty()) macro.sample = CollapseSpaces(formula.substr(0, 512));
      }
    }
    return added;
  }

  // A macro sheet that starts itself and writes or runs formulas is an XLM dropper even when no
  // EXEC/CALL is spelled out (it is assembled from CHAR() codes at run time).
  static void ReportSylkMacro(const SylkMacro& m, const std::string& where, AnalyzerOutput& out) {
    const bool builds = std::any_of(m.builders.begin(), m.builders.end(),
                                    [](const std::string& b) { return b != "HALT"; });
    if (!(m.macro_sheet || !m.auto_open.empty()) || (!builds && m.char_calls < 8)) return;
    const bool auto_run = !m.auto_open.empty();
    std::vector<std::string> techniques = {"T1059"};
    if (m.char_calls >= 8) techniques.push_back("T1027");
    std::string evidence = std::string(m.macro_sheet ? "macro sheet (O;E)" : "no macro-sheet flag") +
                           (auto_run ? "; name " + m.auto_open : "") + "; functions: " + JoinList(m.builders) +
                           "; CHAR() calls: " + std::to_string(m.char_calls) + "; first: " + m.sample;
    out.AddFinding(Finding{"office.xlm.sylk_macro", auto_run ? 7 : 5,
                           "Excel 4.0 macro sheet in SYLK " + where + (auto_run ? " that runs on open" : ""),
                           "The SYLK file is an XLM macro sheet whose formulas write or run other formulas "
                           "(FORMULA, RUN, GOTO) or assemble text from CHAR() codes: the way SYLK droppers hide "
                           "EXEC/CALL from scanners. An Auto_open name runs it when the file is opened.",
                           evidence, techniques});
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeSheetTextAnalyzer() { return std::make_unique<SheetTextAnalyzer>(); }

}  // namespace airlock::scan::office
