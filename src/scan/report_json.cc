#include "scan/report_json.h"

#include "core/json_text.h"

namespace airlock::scan {
namespace {

nlohmann::json FindingJson(const Finding& f) {
  return nlohmann::json{{"id", f.id},           {"severity", f.severity}, {"title", f.title},
                        {"explanation", f.explanation}, {"evidence", f.evidence}, {"techniques", f.techniques}};
}

nlohmann::json ObjectJson(const ObjectReport& o) {
  nlohmann::json j;
  j["path"] = o.path;
  j["name"] = o.name;
  j["type"] = {{"mime", o.mime}, {"description", o.magic}};
  j["size"] = o.size;
  j["hashes"] = {{"md5", o.md5}, {"sha1", o.sha1}, {"sha256", o.sha256}};
  j["verdict"] = VerdictName(o.assessment.verdict);
  j["score"] = o.assessment.score;
  j["techniques"] = o.assessment.techniques;
  j["findings"] = nlohmann::json::array();
  for (const auto& f : o.findings) j["findings"].push_back(FindingJson(f));
  if (!o.extracted_as.empty()) j["extracted_as"] = o.extracted_as;
  j["children"] = nlohmann::json::array();
  for (const auto& c : o.children) j["children"].push_back(ObjectJson(c));
  return j;
}

}  // namespace

nlohmann::json ReportToJson(const ScanReport& report) {
  nlohmann::json j;
  j["version"] = AIRLOCK_VERSION;
  j["verdict"] = VerdictName(report.assessment.verdict);
  j["score"] = report.assessment.score;
  j["techniques"] = report.assessment.techniques;
  j["duration_ms"] = report.duration_ms;
  j["objects"] = nlohmann::json::array();
  j["limits_hit"] = nlohmann::json::array();
  j["errors"] = nlohmann::json::array();
  for (const auto& in : report.inputs) {
    if (!in.ok) {
      j["errors"].push_back({{"input", in.input}, {"error", in.error}});
      continue;
    }
    nlohmann::json o = ObjectJson(in.root);
    o["input"] = in.input;
    o["duration_ms"] = in.duration_ms;
    j["objects"].push_back(std::move(o));
    for (const auto& l : in.limits_hit) {
      j["limits_hit"].push_back({{"path", l.path}, {"limit", l.limit}, {"detail", l.detail}});
    }
  }
  return j;
}

std::string ReportToJsonText(const ScanReport& report) {
  return DumpJson(ReportToJson(report), 2) + "\n";
}

}  // namespace airlock::scan
