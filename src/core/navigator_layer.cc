#include "core/navigator_layer.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace airlock {
namespace {

using nlohmann::json;

struct Seen {
  double score = 0;
  std::set<std::string> rules;
};

double Number(const json& j, const char* key) { return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0; }

void Note(std::map<std::string, Seen>& out, const std::string& technique, double score, const std::string& rule) {
  if (technique.empty() || technique.size() > 32) return;
  Seen& s = out[technique];
  s.score = std::max(s.score, std::clamp(score, 0.0, 10.0));
  if (!rule.empty() && s.rules.size() < 10) s.rules.insert(rule);
}

// Every finding (an object with a "rule" string and a "techniques" array) anywhere below `j`.
void Walk(const json& j, std::map<std::string, Seen>& out, int depth) {
  if (depth > 64) return;
  if (j.is_object()) {
    if (j.contains("rule") && j["rule"].is_string() && j.contains("techniques") && j["techniques"].is_array()) {
      for (const auto& t : j["techniques"]) {
        const bool titled = j.contains("title") && j["title"].is_string();
        if (t.is_string()) Note(out, t.get<std::string>(), Number(j, "severity"), titled ? j["title"].get<std::string>() : j["rule"].get<std::string>());
      }
    }
    for (const auto& [key, value] : j.items()) Walk(value, out, depth + 1);
  } else if (j.is_array()) {
    for (const auto& v : j) Walk(v, out, depth + 1);
  }
}

}  // namespace

json NavigatorLayer(const json& report, std::string_view name, std::string_view description) {
  std::map<std::string, Seen> seen;
  if (report.is_object()) {
    Walk(report, seen, 0);
    if (report.contains("techniques") && report["techniques"].is_array()) {
      for (const auto& t : report["techniques"]) {
        if (t.is_string() && !seen.contains(t.get<std::string>())) Note(seen, t.get<std::string>(), Number(report, "score"), "");
      }
    }
  }
  json techniques = json::array();
  for (const auto& [id, s] : seen) {
    std::string comment = "airlock";
    for (const auto& r : s.rules) comment += (comment == "airlock" ? ": " : ", ") + r;
    techniques.push_back({{"techniqueID", id}, {"score", s.score}, {"comment", comment}, {"enabled", true}});
  }
  return json{{"name", std::string(name)},
              {"domain", "enterprise-attack"},
              {"versions", {{"layer", "4.5"}, {"navigator", "4.9.1"}}},
              {"description", std::string(description)},
              {"sorting", 3},
              {"gradient", {{"colors", {"#ffffff", "#ff6666"}}, {"minValue", 0}, {"maxValue", 10}}},
              {"techniques", techniques}};
}

}  // namespace airlock
