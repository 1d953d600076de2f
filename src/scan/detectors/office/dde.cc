#include "scan/detectors/office/dde.h"

#include <cctype>

#include "scan/detectors/office/bytes.h"

namespace airlock::scan::office {
namespace {

constexpr size_t kMaxField = 2048;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view ServiceOfFormula(std::string_view formula) {
  size_t bar = formula.find('|');
  size_t begin = bar;
  while (begin > 0 && (std::isalnum(static_cast<unsigned char>(formula[begin - 1])) ||
                       formula[begin - 1] == '_' || formula[begin - 1] == '.')) {
    --begin;
  }
  return formula.substr(begin, bar - begin);
}

}  // namespace

std::optional<std::string> DdeFieldCommand(std::string_view field_code) {
  std::string_view t = Trim(field_code);
  // Word tolerates a leading backslash-less quote or "\\" noise rarely; strip quotes only.
  while (!t.empty() && (t.front() == '"' || t.front() == '\'')) t.remove_prefix(1);
  for (std::string_view kw : {"DDEAUTO", "DDE"}) {
    if (StartsWithIcase(t, kw) && (t.size() == kw.size() || IsSpace(t[kw.size()]) || t[kw.size()] == '"')) {
      return CollapseSpaces(t.substr(0, kMaxField));
    }
  }
  return std::nullopt;
}

namespace {

// True when the field text starting at `p` (8-bit, or UTF-16LE when `wide`) begins, after spaces and
// quotes, with "DDE". Looks at 32 characters at most, so scanning stays linear.
bool StartsLikeDde(std::string_view s, size_t p, bool wide) {
  std::string head;
  const size_t step = wide ? 2 : 1;
  for (size_t k = 0; k < 32 && p + step - 1 < s.size(); ++k, p += step) {
    if (wide && s[p + 1] != '\0') return false;
    head.push_back(s[p]);
  }
  std::string_view t = head;
  while (!t.empty() && (IsSpace(t.front()) || t.front() == '"' || t.front() == '\'')) t.remove_prefix(1);
  return StartsWithIcase(t, "DDE");
}

}  // namespace

std::vector<std::string> FindDdeFieldsInWordBinary(std::string_view s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size() && out.size() < 64; ++i) {
    if (s[i] != '\x13') continue;
    // UTF-16LE: 13 00 then text units until 14 00 / 15 00 / 13 00.
    if (i + 1 < s.size() && s[i + 1] == '\0' && StartsLikeDde(s, i + 2, true)) {
      std::string units;
      size_t j = i + 2;
      for (; j + 1 < s.size() && units.size() < 2 * kMaxField; j += 2) {
        if (s[j + 1] == '\0' && (s[j] == '\x13' || s[j] == '\x14' || s[j] == '\x15')) break;
        units.push_back(s[j]);
        units.push_back(s[j + 1]);
      }
      if (auto cmd = DdeFieldCommand(Utf16LeToUtf8(units))) {
        out.push_back(*cmd);
        i = j;
        continue;
      }
    }
    // 8-bit text.
    if (!StartsLikeDde(s, i + 1, false)) continue;
    size_t j = i + 1;
    while (j < s.size() && j - i < kMaxField && s[j] != '\x13' && s[j] != '\x14' && s[j] != '\x15' && s[j] != '\0') ++j;
    if (auto cmd = DdeFieldCommand(Latin1ToUtf8(s.substr(i + 1, j - i - 1)))) {
      out.push_back(*cmd);
      i = j - 1;
    }
  }
  return out;
}

namespace {

// One line (cell, attribute value) at a time: a service name "app|" that starts an operand (right
// after =, +, -, @, '(' or an operator), on a line with a formula marker, and a later '!'.
std::optional<std::string> DdeFormulaInLine(std::string_view line) {
  const size_t marker = line.find_first_of("=+-@");
  if (marker == std::string_view::npos) return std::nullopt;
  size_t bang = line.find('!', marker);
  if (bang == std::string_view::npos) return std::nullopt;
  for (size_t pos = line.find('|', marker); pos != std::string_view::npos && pos < bang; pos = line.find('|', pos + 1)) {
    size_t name_end = pos;
    while (name_end > marker && IsSpace(line[name_end - 1])) --name_end;
    size_t name_begin = name_end;
    while (name_begin > marker + 1 && name_end - name_begin < 64 &&
           (std::isalnum(static_cast<unsigned char>(line[name_begin - 1])) || line[name_begin - 1] == '_' ||
            line[name_begin - 1] == '.')) {
      --name_begin;
    }
    if (name_begin == name_end || name_begin <= marker) continue;
    size_t before = name_begin;
    while (before > marker && IsSpace(line[before - 1])) --before;
    if (std::string_view("=+-@(&*/^<>").find(line[before - 1]) == std::string_view::npos) continue;
    size_t end = bang + 1;
    while (end < line.size() && end - bang < 16 &&
           (std::isalnum(static_cast<unsigned char>(line[end])) || line[end] == '$')) {
      ++end;
    }
    // Evidence starts at the beginning of the cell holding the operand.
    size_t start = before - 1;
    while (start > 0 && line[start - 1] != ',' && line[start - 1] != ';' && line[start - 1] != '\t' &&
           before - start < 64) {
      --start;
    }
    while (start < before && IsSpace(line[start])) ++start;
    return CollapseSpaces(line.substr(start, std::min(end - start, kMaxField)));
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> DdeFormula(std::string_view text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find_first_of("\r\n", start);
    if (end == std::string_view::npos) end = text.size();
    if (auto f = DdeFormulaInLine(text.substr(start, end - start))) return f;
    start = end + 1;
  }
  return std::nullopt;
}

Finding DdeFieldFinding(std::string_view command, std::string_view where) {
  const bool automatic = StartsWithIcase(command, "DDEAUTO");
  Finding f;
  f.id = "office.dde";
  f.severity = automatic ? 8 : 6;
  f.title = std::string(automatic ? "DDEAUTO field" : "DDE field") + " in " + std::string(where);
  f.explanation = automatic ? "A DDEAUTO field asks to start another program when the document opens; "
                              "this runs commands without macros."
                            : "A DDE field can start another program when its links are updated.";
  f.evidence = std::string(command);
  f.techniques = {"T1559.002"};
  return f;
}

Finding DdeFormulaFinding(std::string_view formula, std::string_view where) {
  const std::string service = ToLowerAscii(ServiceOfFormula(formula));
  const bool shell = service == "cmd" || service == "powershell" || service == "mshta" || service == "msexcel" ||
                     service == "rundll32" || service == "regsvr32" || service == "wscript" || service == "cscript" ||
                     service == "certutil" || service == "bitsadmin" || service.ends_with(".exe");
  Finding f;
  f.id = "office.dde.formula";
  f.severity = shell ? 7 : 5;
  f.title = "DDE formula in " + std::string(where);
  f.explanation = "A spreadsheet formula of the form app|'topic'!item asks Excel to start `app` over DDE "
                  "(CSV/formula injection).";
  f.evidence = std::string(formula);
  f.techniques = {"T1559.002"};
  return f;
}

}  // namespace airlock::scan::office
