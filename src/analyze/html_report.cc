#include "analyze/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/json_text.h"
#include "runapi/run_report.h"

namespace airlock::analyze {

std::string HtmlEscape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += (c < 0x20 && c != '\n' && c != '\t') ? '?' : static_cast<char>(c);
    }
  }
  return o;
}

namespace {

namespace rf = runapi::report_field;

// Why a dropped file got its verdict: its static triage's findings, strongest first (rule, severity,
// techniques, evidence), or what a clean or failed triage means. HTML-escaped.
std::string DroppedWhy(const nlohmann::json& d) {
  std::vector<nlohmann::json> findings;
  if (d.contains("findings") && d["findings"].is_array()) findings.assign(d["findings"].begin(), d["findings"].end());
  if (findings.empty()) {
    const std::string v = d.value("verdict", "");
    return v == "clean" ? "static triage found nothing in its content" : HtmlEscape("no finding (" + (v.empty() ? "not triaged" : v) + ")");
  }
  std::stable_sort(findings.begin(), findings.end(),
                   [](const nlohmann::json& a, const nlohmann::json& b) { return a.value("severity", 0) > b.value("severity", 0); });
  std::string out;
  for (size_t i = 0; i < findings.size() && i < 5; ++i) {
    const auto& f = findings[i];
    std::string techniques;
    if (f.contains("techniques") && f["techniques"].is_array()) {
      for (const auto& t : f["techniques"]) techniques += (techniques.empty() ? "" : ", ") + (t.is_string() ? t.get<std::string>() : std::string());
    }
    out += fmt::format("{}<b>{}</b> (severity {}{}){}", out.empty() ? "" : "<br>", HtmlEscape(f.value("rule", "")), f.value("severity", 0),
                       techniques.empty() ? "" : ", " + HtmlEscape(techniques),
                       f.value("evidence", "").empty() ? "" : ": <code>" + HtmlEscape(f.value("evidence", "").substr(0, 160)) + "</code>");
  }
  if (findings.size() > 5) out += fmt::format("<br>and {} more (report.json)", findings.size() - 5);
  return out;
}

// The last line: how the run ended and how many events the monitor kept and dropped. `run` is the
// `airlock run` report as airlock wrote it (its field names are runapi's), or {"error": ...} when
// there was none.
std::string Footer(const nlohmann::json& run, size_t events) {
  uint64_t dropped = run.contains(rf::kMonitor) ? run[rf::kMonitor].value(rf::kMonitorDropped, uint64_t{0}) : 0;
  return fmt::format("<p class=dim>airlock {} &middot; run: {} &middot; events {} (dropped {})</p></body></html>\n", AIRLOCK_VERSION,
                     HtmlEscape(run.value(rf::kReason, "")), events, dropped);
}

std::string Text(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return "";
  const auto& v = j[key];
  return v.is_string() ? v.get<std::string>() : DumpJson(v);
}

void ProcessTree(std::string& h, const std::vector<nlohmann::json>& events) {
  // pid -> (image, cmdline), parent -> children, in order of appearance.
  std::map<std::string, std::vector<const nlohmann::json*>> children;
  std::vector<const nlohmann::json*> procs;
  for (const auto& e : events) {
    if (e.value("category", "") != "process_creation") continue;
    procs.push_back(&e);
    children[Text(e, "ParentProcessId")].push_back(&e);
  }
  h += "<h2>Process tree</h2>";
  if (procs.empty()) {
    h += "<p>No process was created.</p>";
    return;
  }
  h += "<ul class=tree>";
  for (const auto* p : procs) {
    std::string ppid = Text(*p, "ParentProcessId");
    int depth = 0;
    // depth: follow parents seen earlier (bounded)
    std::string cur = ppid;
    for (int i = 0; i < 32; ++i) {
      bool found = false;
      for (const auto* q : procs) {
        if (Text(*q, "ProcessId") == cur && q != p) {
          cur = Text(*q, "ParentProcessId");
          ++depth;
          found = true;
          break;
        }
      }
      if (!found || cur == Text(*p, "ProcessId")) break;
    }
    h += fmt::format("<li style='margin-left:{}em'><b>{}</b> <code>{}</code> <span class=dim>pid {} &larr; {}</span></li>",
                     depth * 1.5, HtmlEscape(Text(*p, "Image")), HtmlEscape(Text(*p, "CommandLine")), HtmlEscape(Text(*p, "ProcessId")),
                     HtmlEscape(ppid));
  }
  h += "</ul>";
}

// The network section: what the sample tried (report "network", docs/REPORT.md), then every
// network and DNS event in order, with the sinkhole's record of the first bytes.
void NetworkSection(std::string& h, const nlohmann::json& r, const std::vector<nlohmann::json>& events) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  const nlohmann::json& net = r.contains("network") ? r["network"] : kEmpty;
  auto list = [&](const char* key) -> const nlohmann::json& {
    static const nlohmann::json kNone = nlohmann::json::array();
    return net.contains(key) && net[key].is_array() ? net[key] : kNone;
  };
  h += fmt::format("<h2>Network</h2><p>mode: {}", HtmlEscape(net.value("mode", "none")));
  if (net.value("mode", "") == "sinkhole") h += " (every name resolved locally, every connection answered by airlock: nothing left the machine)";
  h += "</p>";
  if (!list("domains").empty()) {
    std::string d;
    for (const auto& x : list("domains")) d += (d.empty() ? "" : ", ") + HtmlEscape(x.get<std::string>());
    h += "<p><b>Domains</b>: " + d + "</p>";
  }
  if (!list("destinations").empty()) {
    h += "<table><tr><th>protocol</th><th>destination</th><th>port</th><th>hostname</th><th>image</th></tr>";
    for (const auto& d : list("destinations")) {
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", HtmlEscape(Text(d, "protocol")), HtmlEscape(Text(d, "ip")),
                       HtmlEscape(Text(d, "port")), HtmlEscape(Text(d, "hostname")), HtmlEscape(Text(d, "image")));
    }
    h += "</table>";
  }
  if (!list("urls").empty()) {
    h += "<table><tr><th>method</th><th>URL</th><th>user agent</th></tr>";
    for (const auto& u : list("urls")) {
      h += fmt::format("<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>", HtmlEscape(Text(u, "method")), HtmlEscape(Text(u, "url")),
                       HtmlEscape(Text(u, "user_agent")));
    }
    h += "</table>";
  }
  h += "<table><tr><th>time</th><th>image</th><th>what</th></tr>";
  for (const auto& e : events) {
    std::string cat = e.value("category", "");
    bool sinkhole = e.value("Sinkhole", "") == "true";
    std::string image = sinkhole ? "sinkhole" : Text(e, "Image");
    if (cat == "network_connection") {
      std::string where = e.contains("DestinationIp") ? Text(e, "Protocol") + " " + Text(e, "DestinationIp") + ":" + Text(e, "DestinationPort")
                        : e.contains("DestinationUnixPath") ? "unix " + Text(e, "DestinationUnixPath")
                                                            : Text(e, "Protocol") + " from port " + Text(e, "SourcePort");
      if (e.contains("DestinationHostname")) where += " (" + Text(e, "DestinationHostname") + ")";
      if (e.contains("Url")) where += " " + Text(e, "Method") + " " + Text(e, "Url");
      std::string bytes = e.contains("FirstBytes") ? "<br><code>" + HtmlEscape(Text(e, "FirstBytes").substr(0, 512)) + "</code>" : "";
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}{}</td></tr>", HtmlEscape(Text(e, "UtcTime")), HtmlEscape(image), HtmlEscape(where), bytes);
    } else if (cat == "dns_query") {
      std::string answer = e.contains("QueryResults") && !Text(e, "QueryResults").empty() ? " &rarr; " + HtmlEscape(Text(e, "QueryResults")) : "";
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>DNS {} {}{}</td></tr>", HtmlEscape(Text(e, "UtcTime")), HtmlEscape(image),
                       HtmlEscape(Text(e, "QueryType")), HtmlEscape(Text(e, "QueryName")), answer);
    }
  }
  h += "</table>";
}

// "T1548.001" -> a link to https://attack.mitre.org/techniques/T1548/001/ (escaped).
std::string TechniqueLink(const std::string& id) {
  std::string url = id;
  for (char& c : url)
    if (c == '.') c = '/';
  return fmt::format("<a href=\"https://attack.mitre.org/techniques/{}/\">{}</a>", HtmlEscape(url), HtmlEscape(id));
}

// Each technique of a finding, linked.
std::string TechniqueLinks(const nlohmann::json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& t : list)
    if (t.is_string()) out += (out.empty() ? "" : " ") + TechniqueLink(t.get<std::string>());
  return out;
}

// A matched event as a readable key/value table (scalars as text, anything nested as compact JSON).
std::string KeyValues(const nlohmann::json& event) {
  if (!event.is_object()) return "<code>" + HtmlEscape(DumpJson(event)) + "</code>";
  std::string out = "<table class=kv>";
  for (const auto& [key, value] : event.items()) {
    const std::string text = value.is_string() ? value.get<std::string>() : DumpJson(value);
    out += fmt::format("<tr><th>{}</th><td><code>{}</code></td></tr>", HtmlEscape(key), HtmlEscape(text));
  }
  return out + "</table>";
}

// Every technique observed, with its level and evidence (report.json's observed_techniques), and
// how the verdict came about (verdict_reasons): both apart from the verdict.
void ObservedTechniques(std::string& h, const nlohmann::json& r) {
  auto reasons = r.find("verdict_reasons");
  if (reasons != r.end() && reasons->is_array()) {
    for (const auto& why : *reasons)
      if (why.is_string()) h += "<p class=dim>" + HtmlEscape(why.get<std::string>()) + "</p>";
  }
  auto observed = r.find("observed_techniques");
  if (observed == r.end() || !observed->is_array() || observed->empty()) return;
  h += "<h2>Observed techniques</h2><table><tr><th>technique</th><th>level</th><th>seen</th><th>evidence</th></tr>";
  for (const auto& t : *observed) {
    if (!t.is_object() || !t.contains("technique") || !t["technique"].is_string()) continue;
    const std::string id = t["technique"].get<std::string>();
    std::string evidence;
    if (t.contains("evidence") && t["evidence"].is_array()) {
      for (const auto& e : t["evidence"]) {
        if (!e.is_object()) continue;
        evidence += fmt::format("{}{} ({}): <code>{}</code>", evidence.empty() ? "" : "<br>", HtmlEscape(e.value("rule", "")),
                                HtmlEscape(e.value("source", "")), HtmlEscape(e.value("evidence", "")));
      }
    }
    const uint64_t seen = t.contains("observations") && t["observations"].is_number_unsigned() ? t["observations"].get<uint64_t>() : 0;
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", TechniqueLink(id), HtmlEscape(t.value("level", "")), seen,
                     evidence);
  }
  h += "</table>";
}

}  // namespace

std::string RenderHtmlReport(const nlohmann::json& r, const std::vector<nlohmann::json>& events) {
  std::string verdict = r.contains("verdict") && r["verdict"].is_string() ? r["verdict"].get<std::string>() : "error";
  std::string color = verdict == "malicious" ? "#b00020" : verdict == "clean" ? "#1b7a2b" : "#b36b00";  // error: as suspicious
  std::string h = R"(<!doctype html><html><head><meta charset="utf-8"><title>airlock analysis</title><style>
body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}h1{margin-bottom:0}
.badge{display:inline-block;padding:.3em .8em;border-radius:4px;color:#fff;font-weight:bold}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f0f0f0}code{font-size:12px;word-break:break-all}table.kv{margin:0}table.kv th{width:1%;white-space:nowrap;font-weight:normal}.dim{color:#777}ul.tree{list-style:none;padding-left:0}
</style></head><body>)";
  h += fmt::format("<h1>airlock analysis: {}</h1>", HtmlEscape(r["sample"].value("name", "")));
  const std::string techniques = TechniqueLinks(r.value("techniques", nlohmann::json::array()));
  h += fmt::format("<p><span class=badge style='background:{}'>{}</span> score {:.1f}/10 &nbsp; techniques: {}</p>", color,
                   HtmlEscape(verdict), r.value("score", 0.0), techniques.empty() ? std::string("none") : techniques);
  h += fmt::format("<p>sha256 <code>{}</code>, {} bytes, runner: {} ({})</p>", HtmlEscape(r["sample"].value("hashes", nlohmann::json::object()).value("sha256", "")),
                   r["sample"].value("size", 0), HtmlEscape(r["runner"].value("kind", "")), HtmlEscape(r["runner"].value("why", "")));

  ObservedTechniques(h, r);

  h += "<h2>Findings</h2><table><tr><th>level</th><th>rule</th><th>techniques</th><th>evidence</th></tr>";
  for (const auto& m : r["behavior"]["matches"]) {
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", HtmlEscape(m.value("level", "")),
                     HtmlEscape(m.value("title", "")), TechniqueLinks(m["techniques"]), KeyValues(m["event"]));
  }
  for (const auto& f : r["static"]["findings"]) {
    h += fmt::format("<tr><td>static {}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>", f.value("severity", 0),
                     HtmlEscape(f.value("title", "")), TechniqueLinks(f["techniques"]), HtmlEscape(f.value("evidence", "") + " @ " + f.value("object", "")));
  }
  h += "</table>";

  ProcessTree(h, events);

  NetworkSection(h, r, events);

  h += "<h2>Dropped files</h2><table><tr><th>path</th><th>size</th><th>sha256</th><th>verdict</th><th>why</th></tr>";
  for (const auto& d : r["dropped"]) {
    h += fmt::format("<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>", HtmlEscape(d.value("path", "")),
                     d.value("size", 0), HtmlEscape(d.value("sha256", "")), HtmlEscape(d.value("verdict", "")), DroppedWhy(d));
  }
  h += "</table>";

  h += "<h2>Timeline</h2><table><tr><th>time</th><th>pid</th><th>category</th><th>image</th><th>detail</th></tr>";
  size_t shown = 0;
  for (const auto& e : events) {
    if (e.value("category", "") == "file_access") continue;  // reads are many; they stay in events.jsonl
    if (++shown > 2000) {
      h += "<tr><td colspan=5>... truncated: see events.jsonl</td></tr>";
      break;
    }
    std::string dest = e.contains("DestinationIp") ? Text(e, "DestinationIp") + ":" + Text(e, "DestinationPort") : Text(e, "DestinationUnixPath");
    std::string detail = Text(e, "CommandLine") + Text(e, "TargetFilename") + Text(e, "QueryName") + dest + Text(e, "Syscall") +
                         (e.contains("Operation") ? " [" + Text(e, "Operation") + "]" : "");
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>", HtmlEscape(Text(e, "UtcTime")),
                     HtmlEscape(Text(e, "ProcessId")), HtmlEscape(Text(e, "category")), HtmlEscape(Text(e, "Image")), HtmlEscape(detail));
  }
  h += "</table>";
  h += Footer(r["run"], events.size());
  return h;
}

}  // namespace airlock::analyze
