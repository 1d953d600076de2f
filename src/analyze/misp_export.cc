#include "analyze/misp_export.h"

#include <set>
#include <string>
#include <utility>

namespace airlock::analyze {
namespace {

using nlohmann::json;

std::string Field(const json& j, const char* key) { return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : ""; }

class Attributes {
 public:
  void Add(const std::string& type, const std::string& category, const std::string& value, bool to_ids, const std::string& comment) {
    if (value.empty() || !seen_.insert({type, value}).second) return;
    list_.push_back({{"type", type}, {"category", category}, {"value", value}, {"to_ids", to_ids}, {"comment", comment}});
  }
  void AddHashes(const json& hashes, const std::string& category, bool to_ids, const std::string& comment) {
    for (const char* kind : {"sha256", "sha1", "md5"}) Add(kind, category, Field(hashes, kind), to_ids, comment);
  }
  json Take() { return std::move(list_); }

 private:
  std::set<std::pair<std::string, std::string>> seen_;
  json list_ = json::array();
};

}  // namespace

json MispEvent(const json& report) {
  const json r = report.is_object() ? report : json::object();
  const std::string verdict = Field(r, "verdict"), name = Field(r.value("sample", json::object()), "name");
  Attributes attrs;
  if (r.contains("sample") && r["sample"].is_object()) attrs.AddHashes(r["sample"].value("hashes", json::object()), "Payload delivery", true, "the sample " + name);
  if (r.contains("dropped") && r["dropped"].is_array()) {
    for (const auto& d : r["dropped"]) {
      if (!d.is_object()) continue;
      const std::string v = Field(d, "verdict");
      attrs.AddHashes(d.value("hashes", json::object()), "Artifacts dropped", v == "malicious" || v == "suspicious", "dropped " + Field(d, "path") + " (" + v + ")");
    }
  }
  const json net = r.value("network", json::object());
  if (net.is_object() && net.contains("domains") && net["domains"].is_array()) {
    for (const auto& d : net["domains"]) if (d.is_string()) attrs.Add("domain", "Network activity", d.get<std::string>(), true, "queried by the sample");
  }
  if (net.is_object() && net.contains("urls") && net["urls"].is_array()) {
    for (const auto& u : net["urls"]) attrs.Add("url", "Network activity", Field(u, "url"), true, "requested by the sample (" + Field(u, "method") + ")");
  }
  json tags = json::array({{{"name", "airlock:verdict=\"" + (verdict.empty() ? "error" : verdict) + "\""}}});
  if (r.contains("techniques") && r["techniques"].is_array()) {
    for (const auto& t : r["techniques"]) if (t.is_string()) tags.push_back({{"name", "misp-galaxy:mitre-attack-pattern=\"" + t.get<std::string>() + "\""}});
  }
  const std::string started = Field(r, "started");
  return {{"Event",
           {{"info", "airlock analyze: " + name + " (" + (verdict.empty() ? "error" : verdict) + ")"},
            {"date", started.size() >= 10 ? started.substr(0, 10) : std::string()},
            {"threat_level_id", verdict == "malicious" ? "1" : verdict == "suspicious" ? "2" : "4"},
            {"analysis", "2"},
            {"distribution", "0"},
            {"Tag", tags},
            {"Attribute", attrs.Take()}}}};
}

}  // namespace airlock::analyze
