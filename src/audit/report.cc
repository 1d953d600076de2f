#include "audit/report.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/json_text.h"
#include "core/report_envelope.h"

namespace airlock::audit {
namespace {

// Manifests are hostile: no terminal control sequences reach the user's terminal.
std::string Clean(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

nlohmann::ordered_json ReportToJson(const std::vector<TargetReport>& reports, const ReportClock& clock) {
  nlohmann::ordered_json targets = nlohmann::ordered_json::array();
  for (const TargetReport& r : reports) {
    nlohmann::ordered_json findings = nlohmann::ordered_json::array();
    for (const Finding& f : r.findings) {
      // The common finding fields (core/report_envelope.h), then the audit's own; "id" and
      // "technique" are the deprecated names of "rule" and "techniques" (docs/REPORT.md).
      std::vector<std::string> techniques;
      if (!f.technique.empty()) techniques.push_back(f.technique);
      nlohmann::ordered_json j = {{"rule", f.id},        {"severity", SeverityScore(f.severity)}, {"techniques", techniques},
                                  {"evidence", f.evidence}, {"object", r.target},                 {"level", SeverityName(f.severity)},
                                  {"title", f.title},       {"remediation", f.remediation},      {"id", f.id},
                                  {"technique", f.technique}};
      findings.push_back(std::move(j));
    }
    nlohmann::ordered_json passes = nlohmann::ordered_json::array();
    for (const Pass& p : r.passes) passes.push_back({{"id", p.id}, {"title", p.title}});
    targets.push_back({{"target", r.target},
                       {"kind", TargetKindName(r.kind)},
                       {"score", static_cast<double>(r.score)},
                       {"grade", r.grade},
                       {"findings", std::move(findings)},
                       {"passes", std::move(passes)}});
  }
  nlohmann::ordered_json report{{"targets", std::move(targets)}};
  StampReportEnvelope(report, "audit", clock);
  return report;
}

std::string ReportToJsonText(const std::vector<TargetReport>& reports, const ReportClock& clock) {
  return DumpJson(ReportToJson(reports, clock), 2) + "\n";
}

std::string ReportToText(const std::vector<TargetReport>& reports) {
  std::string out;
  for (const TargetReport& r : reports) {
    out += fmt::format("{} ({}): score {}/100, grade {}, {} finding{}\n", Clean(r.target),
                       TargetKindName(r.kind), r.score, r.grade, r.findings.size(),
                       r.findings.size() == 1 ? "" : "s");
    if (!r.findings.empty()) {
      size_t id_w = 2, tech_w = 9;
      for (const Finding& f : r.findings) {
        id_w = std::max(id_w, f.id.size());  // ids and techniques are ours, not from the input
        tech_w = std::max(tech_w, f.technique.size());
      }
      out += fmt::format("  {:<8}  {:<{}}  {:<{}}  {}\n", "SEVERITY", "ID", id_w, "TECHNIQUE", tech_w, "TITLE");
      for (const Finding& f : r.findings) {
        out += fmt::format("  {:<8}  {:<{}}  {:<{}}  {}\n", SeverityName(f.severity), f.id, id_w, f.technique, tech_w,
                           Clean(f.title));
        out += fmt::format("  {:<8}  {:<{}}  {:<{}}    evidence: {}\n", "", "", id_w, "", tech_w, Clean(f.evidence));
        out += fmt::format("  {:<8}  {:<{}}  {:<{}}    fix: {}\n", "", "", id_w, "", tech_w, Clean(f.remediation));
      }
    }
    for (const Pass& p : r.passes) out += fmt::format("  pass      {}: {}\n", p.id, p.title);
    out += "\n";
  }
  return out;
}

}  // namespace airlock::audit
