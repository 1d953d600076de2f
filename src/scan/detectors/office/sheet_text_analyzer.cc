// CSV and SYLK text spreadsheets: DDE formulas ("=cmd|' /C calc'!A0") and, in SYLK, XLM formulas
// that execute (EXEC, CALL, REGISTER).
#include "scan/detectors/office/bytes.h"
#include "scan/detectors/office/dde.h"
#include "scan/detectors/office/office_analyzers.h"

namespace airlock::scan::office {
namespace {

constexpr size_t kMaxLines = 1u << 20;
constexpr size_t kMaxFindings = 16;

bool LooksLikeSylk(std::string_view d) { return d.starts_with("ID;"); }

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
    while (start < d.size() && lines++ < kMaxLines && findings < kMaxFindings) {
      size_t end = d.find('\n', start);
      if (end == std::string_view::npos) end = d.size();
      std::string_view line = d.substr(start, std::min<size_t>(end - start, 65536));
      start = end + 1;
      if (sylk) {
        // C;X1;Y1;K0;E<formula>  - the E field holds the formula without '='.
        size_t e = line.find(";E");
        if (e == std::string_view::npos) continue;
        std::string formula = "=" + std::string(line.substr(e + 2));
        if (auto dde = DdeFormula(formula)) {
          out.AddFinding(DdeFormulaFinding(*dde, where));
          ++findings;
        } else if (ContainsIcase(formula, "EXEC(") || ContainsIcase(formula, "CALL(") ||
                   ContainsIcase(formula, "REGISTER(")) {
          out.AddFinding(Finding{"office.xlm.formula", 7, "Executing Excel 4.0 formula in SYLK " + where,
                                 "SYLK files carry XLM formulas that run programs or call DLL exports.",
                                 CollapseSpaces(formula.substr(0, 1024)), {"T1059"}});
          ++findings;
        }
        continue;
      }
      if (auto dde = DdeFormula(line)) {
        out.AddFinding(DdeFormulaFinding(*dde, where));
        ++findings;
      }
    }
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeSheetTextAnalyzer() { return std::make_unique<SheetTextAnalyzer>(); }

}  // namespace airlock::scan::office
