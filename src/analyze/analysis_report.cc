#include "analyze/analysis_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

#include "analyze/html_report.h"
#include "core/json_text.h"
#include "core/report_envelope.h"

namespace airlock::analyze {

using nlohmann::json;

namespace {

// `path` with the sandbox's input path `inside` replaced by `shown_as` (a whole path component only).
std::string Shown(const std::string& path, const std::string& inside, const std::string& shown_as) {
  if (inside.empty() || !path.starts_with(inside)) return path;
  const std::string rest = path.substr(inside.size());
  return rest.empty() || rest.starts_with(" > ") || rest.starts_with("/") ? shown_as + rest : path;
}

// Flattens the findings of a scan report's object tree (depth-bounded: the tree is untrusted).
void CollectFindings(const json& obj, json& out, int depth, const std::string& inside, const std::string& shown_as) {
  if (!obj.is_object() || depth > 64) return;
  const std::string path = Shown(obj.contains("path") && obj["path"].is_string() ? obj["path"].get<std::string>() : "", inside, shown_as);
  if (auto f = obj.find("findings"); f != obj.end() && f->is_array()) {
    for (const auto& x : *f) {
      if (!x.is_object()) continue;
      json finding = x;
      finding["object"] = path;
      finding["path"] = path;  // deprecated: "object"
      if (finding.contains("evidence") && finding["evidence"].is_string()) {
        finding["evidence"] = Shown(finding["evidence"].get<std::string>(), inside, shown_as);  // a name finding names the object
      }
      if (!finding.contains("rule") && finding.contains("id")) finding["rule"] = finding["id"];
      if (!finding.contains("techniques") || !finding["techniques"].is_array()) finding["techniques"] = json::array();
      out.push_back(std::move(finding));
    }
  }
  if (auto c = obj.find("children"); c != obj.end() && c->is_array()) {
    for (const auto& child : *c) CollectFindings(child, out, depth + 1, inside, shown_as);
  }
}

// The keys the HTML renderer reads unconditionally, each with its empty value when missing or of
// another type (a missing key of a const nlohmann::json is undefined behaviour, not an exception).
void FillRenderedKeys(json& r) {
  const std::pair<const char*, json> keys[] = {
      {"sample", json::object()}, {"runner", json::object()}, {"behavior", json::object()}, {"static", json::object()},
      {"techniques", json::array()}, {"dropped", json::array()}, {"run", json::object()}};
  for (const auto& [key, empty] : keys) {
    if (!r.contains(key) || r[key].type() != empty.type()) r[key] = empty;
  }
  if (!r["behavior"].contains("matches") || !r["behavior"]["matches"].is_array()) r["behavior"]["matches"] = json::array();
  if (!r["static"].contains("findings") || !r["static"]["findings"].is_array()) r["static"]["findings"] = json::array();
}

std::string StringAt(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

EventLines ReadEventLines(std::istream& in, size_t max_events) {
  EventLines r;
  for (std::string line; std::getline(in, line);) {
    if (r.events.size() >= max_events) {
      ++r.not_read;
      continue;
    }
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      ++r.unparsable;
      continue;
    }
    r.events.push_back(std::move(j));
  }
  return r;
}

json ParseScanOutput(const std::string& out, int exit_code, const std::string& err) {
  json j = json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded() && j.is_object()) return j;
  return json{{"error", fmt::format("static triage failed (exit {}): {}", exit_code, err.substr(0, 500))}};
}

StaticResult ReadScanReport(const json& scan, const std::string& inside, const std::string& shown_as) {
  StaticResult r;
  if (!scan.is_object()) return r;
  r.verdict = ReportVerdict(scan);
  if (auto s = scan.find("score"); s != scan.end() && s->is_number()) r.score = s->get<double>();
  if (auto t = scan.find("techniques"); t != scan.end() && t->is_array()) {
    for (const auto& x : *t)
      if (x.is_string()) r.techniques.insert(x.get<std::string>());
  }
  r.error = StringAt(scan, "error");
  if (!r.error.empty()) r.verdict = "error";
  auto objects = scan.find("objects");
  if (objects == scan.end() || !objects->is_array()) return r;
  for (const auto& o : *objects) CollectFindings(o, r.findings, 0, inside, shown_as);
  if (objects->empty() || !(*objects)[0].is_object()) return r;
  const json& root = (*objects)[0];
  if (auto h = root.find("hashes"); h != root.end() && h->is_object()) {
    r.sha256 = StringAt(*h, "sha256");
    r.hashes = ReportHashes(r.sha256, StringAt(*h, "sha1"), StringAt(*h, "md5"));
  }
  if (auto t = root.find("type"); t != root.end()) r.type = *t;
  return r;
}

json OutputSection(const std::string& out, const std::string& err, int exit_code) {
  return json{{"stdout", out.substr(0, 65536)}, {"stderr", err.substr(0, 65536)}, {"exit_code", exit_code}};
}

std::string EventEvidence(const json& e) {
  if (!e.is_object()) return "";
  const std::string cmd = StringAt(e, "CommandLine");
  if (!cmd.empty()) return cmd.substr(0, 300);
  const std::string target = StringAt(e, "TargetFilename");
  if (!target.empty()) return (StringAt(e, "Operation") + " " + target).substr(0, 300);
  for (const char* k : {"Url", "QueryName", "Args"}) {
    if (std::string v = StringAt(e, k); !v.empty()) return v.substr(0, 300);
  }
  std::string dest = StringAt(e, "DestinationHostname");
  if (dest.empty()) dest = StringAt(e, "DestinationIp");
  if (auto p = e.find("DestinationPort"); !dest.empty() && p != e.end() && p->is_number_integer()) dest += ":" + std::to_string(p->get<int64_t>());
  if (!dest.empty()) return dest;
  return (StringAt(e, "Syscall") + " " + StringAt(e, "Image")).substr(0, 300);
}

namespace {

const char* LevelName(int score) {
  return score >= 10 ? "critical" : score >= 8 ? "high" : score >= 6 ? "medium" : score >= 3 ? "low" : "informational";
}

struct TechniqueEntry {
  int score = 0;
  json evidence = json::array();
  size_t count = 0;
};

void AddEvidence(TechniqueEntry& t, int score, json item) {
  t.score = std::max(t.score, score);
  ++t.count;
  if (t.evidence.size() < 5) t.evidence.push_back(std::move(item));
}

}  // namespace

json TechniqueSection(const std::vector<BehaviorHit>& hits, const json& static_findings) {
  std::map<std::string, TechniqueEntry> by_technique;
  for (const auto& h : hits) {
    const int s = HitScore(h);
    json event = json::parse(h.event, nullptr, /*allow_exceptions=*/false);
    json item = {{"source", h.community ? "community rule" : "behaviour rule"}, {"rule", h.title}, {"rule_id", h.rule_id},
                 {"level", LevelName(s)}, {"evidence", EventEvidence(event)}};
    for (const auto& t : h.techniques) AddEvidence(by_technique[t], s, item);
  }
  if (static_findings.is_array()) {
    for (const auto& f : static_findings) {
      if (!f.is_object() || !f.contains("techniques") || !f["techniques"].is_array()) continue;
      const int sev = f.contains("severity") && f["severity"].is_number() ? f["severity"].get<int>() : 0;
      const int s = sev >= 7 ? 8 : sev >= 4 ? 6 : sev >= 2 ? 3 : 1;
      const std::string rule = f.contains("rule") ? StringAt(f, "rule") : StringAt(f, "id");
      const std::string object = f.contains("object") ? StringAt(f, "object") : StringAt(f, "path");
      json item = {{"source", "static finding"}, {"rule", rule}, {"level", LevelName(s)},
                   {"evidence", (object + ": " + StringAt(f, "title")).substr(0, 300)}};
      for (const auto& t : f["techniques"])
        if (t.is_string()) AddEvidence(by_technique[t.get<std::string>()], s, item);
    }
  }
  json out = json::array();
  for (auto& [technique, entry] : by_technique) {
    out.push_back({{"technique", technique}, {"level", LevelName(entry.score)}, {"observations", entry.count}, {"evidence", std::move(entry.evidence)}});
  }
  return out;
}

ReportTexts RenderReport(json& report, const std::vector<json>& events) {
  if (!report.is_object()) report = json::object();
  FillRenderedKeys(report);
  MakeJsonUtf8(report);
  ReportTexts t;
  t.json = DumpJson(report, 2) + "\n";
  try {
    t.html = RenderHtmlReport(report, events);
  } catch (const std::exception& e) {
    // The JSON report is the record; the HTML view of an unexpected shape says so instead.
    t.html = "<!doctype html><meta charset=utf-8><title>airlock analyze</title><p>The HTML report could not be rendered (" +
             HtmlEscape(Utf8Text(e.what())) + "); see report.json.</p>\n";
  }
  return t;
}

}  // namespace airlock::analyze
