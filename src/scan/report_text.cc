#include "scan/report_text.h"

#include <fmt/format.h>

namespace airlock::scan {
namespace {

std::string HumanSize(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < (1u << 20)) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
  if (n < (1u << 30)) return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1 << 20));
  return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1 << 30));
}

std::string Colored(Verdict v, bool color) {
  std::string name(VerdictName(v));
  if (!color) return name;
  const char* code = v == Verdict::kMalicious ? "\033[1;31m"
                     : v == Verdict::kSuspicious || v == Verdict::kError ? "\033[1;33m"
                                                                         : "\033[32m";
  return code + name + "\033[0m";
}

void Render(const ObjectReport& o, int depth, bool color, std::string& out) {
  std::string indent(static_cast<size_t>(depth) * 2, ' ');
  out += fmt::format("{}{}  [{}, {}]  {} ({})\n", indent, EscapeForTerminal(depth == 0 ? o.path : o.name),
                     EscapeForTerminal(o.mime), HumanSize(o.size), Colored(o.assessment.verdict, color),
                     o.assessment.score);
  for (const auto& f : o.findings) {
    std::string tech;
    for (const auto& t : f.techniques) tech += (tech.empty() ? "" : ",") + EscapeForTerminal(t);
    out += fmt::format("{}  ! {:>2} {}: {}{}\n", indent, f.severity, EscapeForTerminal(f.id), EscapeForTerminal(f.title),
                       tech.empty() ? "" : " [" + tech + "]");
    if (!f.evidence.empty()) out += fmt::format("{}       {}\n", indent, EscapeForTerminal(f.evidence));
  }
  if (!o.extracted_as.empty()) out += fmt::format("{}  -> {}\n", indent, EscapeForTerminal(o.extracted_as));
  for (const auto& c : o.children) Render(c, depth + 1, color, out);
}

}  // namespace

std::string EscapeForTerminal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string ReportToText(const ScanReport& report, bool color) {
  std::string out;
  for (const auto& in : report.inputs) {
    if (!in.ok) {
      out += fmt::format("{}: error: {}\n", EscapeForTerminal(in.input), EscapeForTerminal(in.error));
      continue;
    }
    Render(in.root, 0, color, out);
    for (const auto& l : in.limits_hit) {
      out += fmt::format("  limit: {} at {}: {}\n", EscapeForTerminal(l.limit), EscapeForTerminal(l.path),
                         EscapeForTerminal(l.detail));
    }
  }
  std::string tech;
  for (const auto& t : report.assessment.techniques) tech += (tech.empty() ? "" : ", ") + EscapeForTerminal(t);
  out += fmt::format("\nverdict: {} (score {}/10){}  [{} ms]\n", Colored(report.assessment.verdict, color),
                     report.assessment.score, tech.empty() ? "" : "  techniques: " + tech, report.duration_ms);
  return out;
}

}  // namespace airlock::scan
