#include "milter/assess.h"

#include <algorithm>
#include <set>

#include "core/report_envelope.h"

namespace airlock::milter {
namespace {

// clean < suspicious < error < malicious (core/report_envelope.h): an unjudged part is never clean.
int Rank(const std::string& v) { return VerdictRank(v); }

void AddTechniques(std::vector<std::string>& into, const std::vector<std::string>& more) {
  std::set<std::string> s(into.begin(), into.end());
  s.insert(more.begin(), more.end());
  into.assign(s.begin(), s.end());
}

std::vector<std::string> Strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> v;
  if (j.contains(key) && j[key].is_array())
    for (const auto& x : j[key])
      if (x.is_string()) v.push_back(x.get<std::string>());
  return v;
}

}  // namespace

std::string VerdictForScore(double score) { return score >= 7 ? "malicious" : score >= 4 ? "suspicious" : "clean"; }

MessageAssessment AssessReport(const nlohmann::json& report) {
  MessageAssessment a;
  a.verdict = ReportVerdict(report);  // fail closed: no known verdict is "error"
  a.score = report.contains("score") && report["score"].is_number() ? report["score"].get<double>() : 0.0;
  a.techniques = Strings(report, "techniques");
  std::sort(a.techniques.begin(), a.techniques.end());
  if (!report.contains("objects") || !report["objects"].is_array() || report["objects"].empty()) return a;
  const auto& root = report["objects"][0];
  if (!root.contains("children") || !root["children"].is_array()) return a;
  for (const auto& c : root["children"]) {
    if (!c.is_object()) {  // not an object: nothing to judge it by
      if (Rank(std::string(kVerdictError)) > Rank(a.verdict)) a.verdict = kVerdictError;
      continue;
    }
    AttachmentInfo at;
    at.name = c.value("name", "");
    if (c.contains("type") && c["type"].is_object()) at.type = c["type"].value("mime", "");
    if (c.contains("hashes") && c["hashes"].is_object()) at.sha256 = c["hashes"].value("sha256", "");
    at.verdict = ReportVerdict(c);
    at.score = c.contains("score") && c["score"].is_number() ? c["score"].get<double>() : 0.0;
    at.techniques = Strings(c, "techniques");
    // An attachment that could not be judged makes the message unjudged (unless it is malicious).
    if (Rank(at.verdict) > Rank(a.verdict)) a.verdict = at.verdict;
    a.attachments.push_back(std::move(at));
  }
  return a;
}

void MergeVerdict(MessageAssessment& a, const std::string& sha256, const std::string& verdict, double score,
                  const std::vector<std::string>& techniques) {
  for (auto& at : a.attachments) {
    if (at.sha256 != sha256) continue;
    if (Rank(verdict) > Rank(at.verdict)) at.verdict = verdict;
    at.score = std::max(at.score, score);
    AddTechniques(at.techniques, techniques);
  }
  if (Rank(verdict) > Rank(a.verdict)) a.verdict = verdict;
  a.score = std::max(a.score, score);
  AddTechniques(a.techniques, techniques);
}

Action ActionFor(const MilterConfig& config, const std::string& verdict) {
  if (verdict == "malicious") return config.on_malicious;
  if (verdict == "suspicious") return config.on_suspicious;
  if (verdict == "clean") return config.on_clean;
  return config.on_malicious;  // "error" or unknown: never the clean action (Process fails such a message first)
}

std::map<std::string, Removal> StripSet(const MilterConfig& config, const MessageAssessment& a) {
  std::map<std::string, Removal> out;
  for (const auto& at : a.attachments) {
    bool bad = at.verdict == "malicious" || (at.verdict == "suspicious" && config.on_suspicious == Action::kStrip);
    if (bad && !at.sha256.empty()) out[at.sha256] = Removal{at.verdict, at.score, at.techniques};
  }
  return out;
}

nlohmann::json AssessmentToJson(const MessageAssessment& a) {
  nlohmann::json atts = nlohmann::json::array();
  for (const auto& at : a.attachments) {
    atts.push_back({{"name", at.name}, {"type", at.type}, {"sha256", at.sha256}, {"verdict", at.verdict},
                    {"score", at.score}, {"techniques", at.techniques}});
  }
  return {{"verdict", a.verdict}, {"score", a.score}, {"techniques", a.techniques}, {"attachments", atts}};
}

MessageAssessment AssessmentFromJson(const nlohmann::json& j) {
  MessageAssessment a;
  a.verdict = ReportVerdict(j);
  a.score = j.value("score", 0.0);
  a.techniques = Strings(j, "techniques");
  if (j.contains("attachments") && j["attachments"].is_array()) {
    for (const auto& c : j["attachments"]) {
      AttachmentInfo at;
      at.name = c.value("name", "");
      at.type = c.value("type", "");
      at.sha256 = c.value("sha256", "");
      at.verdict = ReportVerdict(c);
      at.score = c.value("score", 0.0);
      at.techniques = Strings(c, "techniques");
      a.attachments.push_back(std::move(at));
    }
  }
  return a;
}

}  // namespace airlock::milter
