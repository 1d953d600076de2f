#include "analyze/html_report.h"

#include <fmt/format.h>

#include <map>

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

std::string Str(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return "";
  const auto& v = j[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

void ProcessTree(std::string& h, const std::vector<nlohmann::json>& events) {
  // pid -> (image, cmdline), parent -> children, in order of appearance.
  std::map<std::string, std::vector<const nlohmann::json*>> children;
  std::vector<const nlohmann::json*> procs;
  for (const auto& e : events) {
    if (e.value("category", "") != "process_creation") continue;
    procs.push_back(&e);
    children[Str(e, "ParentProcessId")].push_back(&e);
  }
  h += "<h2>Process tree</h2>";
  if (procs.empty()) {
    h += "<p>No process was created.</p>";
    return;
  }
  h += "<ul class=tree>";
  for (const auto* p : procs) {
    std::string ppid = Str(*p, "ParentProcessId");
    int depth = 0;
    // depth: follow parents seen earlier (bounded)
    std::string cur = ppid;
    for (int i = 0; i < 32; ++i) {
      bool found = false;
      for (const auto* q : procs) {
        if (Str(*q, "ProcessId") == cur && q != p) {
          cur = Str(*q, "ParentProcessId");
          ++depth;
          found = true;
          break;
        }
      }
      if (!found || cur == Str(*p, "ProcessId")) break;
    }
    h += fmt::format("<li style='margin-left:{}em'><b>{}</b> <code>{}</code> <span class=dim>pid {} &larr; {}</span></li>",
                     depth * 1.5, HtmlEscape(Str(*p, "Image")), HtmlEscape(Str(*p, "CommandLine")), HtmlEscape(Str(*p, "ProcessId")),
                     HtmlEscape(ppid));
  }
  h += "</ul>";
}

}  // namespace

std::string RenderHtmlReport(const nlohmann::json& r, const std::vector<nlohmann::json>& events) {
  std::string verdict = r.value("verdict", "clean");
  std::string color = verdict == "malicious" ? "#b00020" : verdict == "suspicious" ? "#b36b00" : "#1b7a2b";
  std::string h = R"(<!doctype html><html><head><meta charset="utf-8"><title>airlock analysis</title><style>
body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}h1{margin-bottom:0}
.badge{display:inline-block;padding:.3em .8em;border-radius:4px;color:#fff;font-weight:bold}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f0f0f0}code{font-size:12px;word-break:break-all}.dim{color:#777}ul.tree{list-style:none;padding-left:0}
</style></head><body>)";
  h += fmt::format("<h1>airlock analysis: {}</h1>", HtmlEscape(r["sample"].value("name", "")));
  h += fmt::format("<p><span class=badge style='background:{}'>{}</span> score {:.1f}/10 &nbsp; techniques: {}</p>", color,
                   HtmlEscape(verdict), r.value("score", 0.0), HtmlEscape([&] {
                     std::string t;
                     for (const auto& x : r["techniques"]) t += (t.empty() ? "" : ", ") + x.get<std::string>();
                     return t.empty() ? std::string("none") : t;
                   }()));
  h += fmt::format("<p>sha256 <code>{}</code>, {} bytes, runner: {} ({})</p>", HtmlEscape(r["sample"].value("sha256", "")),
                   r["sample"].value("size", 0), HtmlEscape(r["runner"].value("kind", "")), HtmlEscape(r["runner"].value("why", "")));

  h += "<h2>Findings</h2><table><tr><th>level</th><th>rule</th><th>techniques</th><th>evidence</th></tr>";
  for (const auto& m : r["behavior"]["matches"]) {
    std::string techs;
    for (const auto& t : m["techniques"]) techs += t.get<std::string>() + " ";
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>", HtmlEscape(m.value("level", "")),
                     HtmlEscape(m.value("title", "")), HtmlEscape(techs), HtmlEscape(m["event"].dump()));
  }
  for (const auto& f : r["static"]["findings"]) {
    std::string techs;
    for (const auto& t : f["techniques"]) techs += t.get<std::string>() + " ";
    h += fmt::format("<tr><td>static {}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>", f.value("severity", 0),
                     HtmlEscape(f.value("title", "")), HtmlEscape(techs), HtmlEscape(f.value("evidence", "") + " @ " + f.value("path", "")));
  }
  h += "</table>";

  ProcessTree(h, events);

  h += "<h2>Network</h2><table><tr><th>time</th><th>image</th><th>what</th></tr>";
  for (const auto& e : events) {
    std::string cat = e.value("category", "");
    if (cat == "network_connection") {
      std::string where = e.contains("DestinationIp") ? Str(e, "Protocol") + " " + Str(e, "DestinationIp") + ":" + Str(e, "DestinationPort")
                                                      : "unix " + Str(e, "DestinationUnixPath");
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>", HtmlEscape(Str(e, "UtcTime")), HtmlEscape(Str(e, "Image")), HtmlEscape(where));
    } else if (cat == "dns_query") {
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>DNS {}</td></tr>", HtmlEscape(Str(e, "UtcTime")), HtmlEscape(Str(e, "Image")),
                       HtmlEscape(Str(e, "QueryName")));
    }
  }
  for (const auto& c : r["network"]["sinkhole"]) {
    h += fmt::format("<tr><td></td><td>sinkhole</td><td><code>{}</code></td></tr>", HtmlEscape(c.dump()));
  }
  h += "</table>";

  h += "<h2>Dropped files</h2><table><tr><th>path</th><th>size</th><th>sha256</th><th>verdict</th></tr>";
  for (const auto& d : r["dropped"]) {
    h += fmt::format("<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>", HtmlEscape(d.value("path", "")), d.value("size", 0),
                     HtmlEscape(d.value("sha256", "")), HtmlEscape(d.value("verdict", "")));
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
    std::string dest = e.contains("DestinationIp") ? Str(e, "DestinationIp") + ":" + Str(e, "DestinationPort") : Str(e, "DestinationUnixPath");
    std::string detail = Str(e, "CommandLine") + Str(e, "TargetFilename") + Str(e, "QueryName") + dest + Str(e, "Syscall") +
                         (e.contains("Operation") ? " [" + Str(e, "Operation") + "]" : "");
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>", HtmlEscape(Str(e, "UtcTime")),
                     HtmlEscape(Str(e, "ProcessId")), HtmlEscape(Str(e, "category")), HtmlEscape(Str(e, "Image")), HtmlEscape(detail));
  }
  h += "</table>";
  h += fmt::format("<p class=dim>airlock {} &middot; run: {} &middot; events {} (dropped {})</p></body></html>\n", AIRLOCK_VERSION,
                   HtmlEscape(r["run"].value("reason", "")), events.size(), r["run"].contains("monitor") ? r["run"]["monitor"].value("dropped", 0) : 0);
  return h;
}

}  // namespace airlock::analyze
