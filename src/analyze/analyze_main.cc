// airlock analyze FILE: static triage (airlock-scan, itself run inside a sandbox), detonation with the
// right runner inside the analysis profile under the behaviour monitor, Sigma rules over the events,
// dropped files collected and triaged, one verdict; JSON + self-contained HTML reports.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "analyze/archive_runner.h"
#include "analyze/browse_findings.h"
#include "analyze/html_report.h"
#include "analyze/network_report.h"
#include "analyze/runner.h"
#include "analyze/subprocess.h"
#include "analyze/verdict.h"
#include "analyze/work_dir.h"
#include "core/helper_path.h"
#include "core/private_dir.h"
#include "runapi/run_report.h"
#include "runapi/run_request.h"
#include "sigma/rule_set.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace airlock::analyze;

namespace {

std::string ReadAll(const std::string& path, size_t max = 1 << 30) {
  std::ifstream f(path, std::ios::binary);
  std::string s;
  s.resize(max);
  f.read(s.data(), static_cast<std::streamsize>(max));
  s.resize(static_cast<size_t>(f.gcount()));
  return s;
}

void Progress(bool quiet, const std::string& msg) {
  if (!quiet) std::cerr << "airlock analyze: " << msg << std::endl;
}

std::string RulesDir(const std::string& sub) { return airlock::FindRulesDir(sub, AIRLOCK_ANALYZE_SOURCE_RULES_DIR); }

// Runs airlock-scan --json on `target` inside a default-profile sandbox (least privilege for the
// parsers). Returns the parsed report, or an object with "error". With `extract_dir`, every object is
// also written there (airlock-scan --extract; the directory is the only writable bind).
json StaticTriage(const std::string& airlock, const std::string& scan, const std::string& target,
                  const std::string& extract_dir = "") {
  if (scan.empty()) return json{{"error", "airlock-scan is not installed: no static triage"}};
  std::string scan_dir = fs::path(scan).parent_path().string();
  std::string rules = RulesDir("yara");
  airlock::runapi::RunRequest req(airlock);
  if (!extract_dir.empty()) req.Bind(extract_dir, "/out");
  if (fs::is_directory(rules)) req.RoBind(rules, "/rules");
  req.RoBind(scan_dir, "/opt/airlock-scan").RoBind(target, "/in");
  req.SetEnv("AIRLOCK_RULES_DIR=/rules").SetEnv("XDG_CACHE_HOME=/tmp").Memory("2g").Timeout("300s");
  std::vector<std::string> command = {"/opt/airlock-scan/" + fs::path(scan).filename().string(), "--json"};
  if (!extract_dir.empty()) command.insert(command.end(), {"--extract", "/out"});
  command.push_back("/in");
  auto argv = req.Command(std::move(command)).Argv();
  if (!argv) return json{{"error", "static triage: " + argv.error().What()}};
  ProcResult r = RunCapture(*argv);
  try {
    json j = json::parse(r.out);
    return j;
  } catch (const std::exception&) {
    return json{{"error", fmt::format("static triage failed (exit {}): {}", r.exit_code, r.err.substr(0, 500))}};
  }
}

// The detonation's `airlock run`: the analysis profile, the sample read-only, /tmp and the home
// writable, under the behaviour monitor (every read too: detonation wants credential reads more than
// speed), with the run report.
airlock::runapi::RunRequest DetonationRequest(const std::string& airlock, const std::string& work, const std::string& timeout,
                                              const std::string& events_path, const std::string& run_report_path,
                                              const std::vector<std::string>& setenv_kv, const Runner& runner) {
  airlock::runapi::RunRequest req(airlock);
  req.Profile("analysis").RoBind(work + "/sample", "/sample").Bind(work + "/tmp", "/tmp").Bind(work + "/home", "/home/sandbox");
  req.Chdir("/home/sandbox").Timeout(timeout).Monitor(events_path, /*reads=*/true).Report(run_report_path);
  for (const auto& kv : setenv_kv) req.SetEnv(kv);
  for (const auto& [host, inside] : runner.ro_binds_at) req.RoBind(host, inside);
  for (const auto& rl : runner.rlimits) req.Rlimit(rl);
  std::error_code ec;
  for (const auto& b : runner.ro_binds) {
    if (fs::exists(b, ec)) req.RoBind(b, b);
  }
  return req.Command(runner.argv);
}

// Flattens the findings of a scan report's object tree.
void CollectFindings(const json& obj, json& out) {
  if (obj.contains("findings")) {
    for (auto f : obj["findings"]) {
      f["path"] = obj.value("path", "");
      out.push_back(f);
    }
  }
  if (obj.contains("children"))
    for (const auto& c : obj["children"]) CollectFindings(c, out);
}

}  // namespace

int main(int argc, char** argv) {
  std::string sample_path, out_dir, timeout = "60s";
  std::vector<std::string> setenv_kv, rule_dirs;
  bool json_out = false, quiet = false, no_static = false;
  CLI::App app{"Detonate a file inside an airlock analysis sandbox under the behaviour monitor, judge it with\n"
               "Sigma rules and static triage, and write JSON and HTML reports.\n"
               "Exit status: 0 clean, 1 malicious, 2 error, 3 suspicious.",
               "airlock analyze"};
  app.add_option("file", sample_path, "the sample")->required();
  app.add_option("--timeout", timeout, "how long the sample may run (default 60s)");
  app.add_option("--out", out_dir, "report directory (default: ./airlock-analysis-<name>)");
  app.add_option("--setenv", setenv_kv, "KEY=VALUE in the sample's environment")->allow_extra_args(false);
  app.add_option("--rules", rule_dirs, "additional Sigma rule directory (repeatable)")->allow_extra_args(false);
  app.add_flag("--json", json_out, "print the JSON report on stdout");
  app.add_flag("-q,--quiet", quiet, "no progress on stderr");
  app.add_flag("--no-static", no_static, "skip static triage");
  CLI11_PARSE(app, argc, argv);

  std::error_code ec;
  if (!fs::is_regular_file(sample_path, ec)) {
    std::cerr << "airlock analyze: " << sample_path << ": not a regular file\n";
    return 2;
  }
  std::string name = fs::path(sample_path).filename().string();
  std::string safe = SafeSampleName(name);
  if (out_dir.empty()) out_dir = "airlock-analysis-" + safe;
  // Every directory created here is private (analyze/work_dir.h): the sample, its unpacked members
  // and what it writes are never reachable by another local user.
  auto detonation_ids = SandboxHostIds("analysis");
  auto scan_ids = SandboxHostIds("default");
  std::string work;
  airlock::Status made_dirs = [&]() -> airlock::Status {
    if (!detonation_ids) return std::unexpected(detonation_ids.error());
    if (!scan_ids) return std::unexpected(scan_ids.error());
    AIRLOCK_TRY_STATUS(airlock::MakePrivateDirs(out_dir), "report directory");
    out_dir = fs::absolute(out_dir).string();
    work = out_dir + "/work";
    return PrepareWorkDir(work, /*with_members=*/false, *detonation_ids);
  }();
  if (!made_dirs) {
    std::cerr << "airlock analyze: " << made_dirs.error().What() << "\n";
    return 2;
  }
  std::string staged = work + "/sample/" + safe;
  fs::copy_file(sample_path, staged, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    std::cerr << "airlock analyze: cannot stage sample: " << ec.message() << "\n";
    return 2;
  }
  ::chmod(staged.c_str(), 0555);

  std::string airlock = airlock::FindHelper("airlock");
  std::string scan = airlock::FindHelper("airlock-scan");
  if (airlock.empty()) {
    std::cerr << "airlock analyze: the airlock binary was not found\n";
    return 2;
  }
  json report;
  report["version"] = AIRLOCK_VERSION;
  report["sample"] = {{"name", name}, {"size", fs::file_size(staged, ec)}};

  // The runner is chosen first: for an archive, static triage also extracts its objects (one scan
  // serves both the report and the archive runner's members).
  std::string head = ReadAll(staged, 4096);
  std::string browser = fs::exists("/usr/bin/chromium") ? "/usr/bin/chromium" : "";
  Runner runner = ChooseRunner(head, name, browser, airlock::FindHelper("airlock-browse"), BrowseBudgetMs(timeout));
  const std::string members_dir = work + "/sample/members";
  const bool unpack_members = runner.kind == "archive" && !scan.empty() && !no_static;
  if (unpack_members) {
    // Written by the scan sandbox: its host ids own it, mode 0700.
    if (auto made = MakePrivateDir(members_dir, *scan_ids); !made) {
      std::cerr << "airlock analyze: " << made.error().What() << "\n";
      return 2;
    }
  }

  // 1. Static triage of the sample.
  json static_report = json::object();
  double static_score = 0;
  std::set<std::string> techniques;
  if (!no_static) {
    Progress(quiet, unpack_members ? "[1/4] static triage, unpacking the archive" : "[1/4] static triage");
    static_report = StaticTriage(airlock, scan, staged, unpack_members ? members_dir : "");
    static_score = static_report.value("score", 0.0);
    if (static_report.contains("techniques"))
      for (const auto& t : static_report["techniques"]) techniques.insert(t.get<std::string>());
    if (static_report.contains("objects") && !static_report["objects"].empty()) {
      const auto& root = static_report["objects"][0];
      if (root.contains("hashes")) report["sample"]["sha256"] = root["hashes"].value("sha256", "");
      if (root.contains("type")) report["sample"]["type"] = root["type"];
    }
  }
  json findings = json::array();
  if (static_report.contains("objects"))
    for (const auto& o : static_report["objects"]) CollectFindings(o, findings);
  report["static"] = {{"verdict", static_report.value("verdict", "clean")}, {"score", static_score}, {"findings", findings}};
  if (static_report.contains("error")) report["static"]["error"] = static_report["error"];

  // 2. Detonation.
  json members_report = json::array();
  if (runner.kind == "archive") {
    // Static triage unpacked it (airlock-scan --extract) into /sample/members: detonate its runnable members.
    if (!unpack_members) {
      runner.why = "archive: not unpacked (airlock-scan unavailable or --no-static); static analysis only";
    } else {
      for (auto it = fs::directory_iterator(members_dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0555);
      }
      std::vector<ArchiveMember> members = RunnableMembers(members_dir, "/sample/members", 16);
      for (const auto& m : members) members_report.push_back({{"name", m.name}, {"file", m.file}, {"kind", m.kind}, {"argv", m.argv}});
      if (members.empty()) {
        runner.why = "archive: unpacked, no runnable member (ELF, shell, Python, Perl); static analysis only";
      } else {
        std::ofstream(work + "/sample/airlock-members.sh") << MemberDriverScript(members);
        ::chmod((work + "/sample/airlock-members.sh").c_str(), 0555);
        runner.argv = {"/bin/sh", "/sample/airlock-members.sh"};
        runner.why = fmt::format("archive: unpacked, {} runnable member(s) detonated together", members.size());
      }
    }
  }
  report["runner"] = {{"kind", runner.kind}, {"why", runner.why}, {"argv", runner.argv}};
  if (runner.kind == "archive") report["runner"]["members"] = members_report;
  std::string events_path = out_dir + "/events.jsonl";
  std::string run_report_path = out_dir + "/run.json";
  std::vector<json> events;
  json run = json::object();
  json browse_summary;  // airlock-browse's summary (browser runner only)
  if (!runner.argv.empty()) {
    Progress(quiet, fmt::format("[2/4] detonating with runner '{}' for up to {}", runner.kind, timeout));
    // Detonation wants every read (credential files, configs) more than speed: --monitor-reads.
    auto args = DetonationRequest(airlock, work, timeout, events_path, run_report_path, setenv_kv, runner).Argv();
    ProcResult r = args ? RunCapture(*args, 1 << 20) : ProcResult{-1, "", args.error().What()};
    if (runner.kind == "browser") browse_summary = ParseBrowseSummary(r.out);
    report["output"] = {{"stdout", r.out.substr(0, 65536)}, {"stderr", r.err.substr(0, 65536)}, {"exit_code", r.exit_code}};
    // The run report, checked against its schema (runapi/run_report.h) and kept as airlock wrote it.
    if (auto rr = airlock::runapi::ReadRunReportFile(run_report_path); rr) {
      run = json::parse(ReadAll(run_report_path));
    } else {
      run = json{{"error", "no run report: " + rr.error().What() + ": " + r.err.substr(0, 500)}};
    }
    std::istringstream in(ReadAll(events_path));
    for (std::string line; std::getline(in, line);) {
      try {
        events.push_back(json::parse(line));
      } catch (const std::exception&) {
      }
    }
  } else {
    Progress(quiet, "[2/4] no runner: " + runner.why);
  }
  report["run"] = run;

  // 3. Behaviour rules.
  Progress(quiet, fmt::format("[3/4] matching {} events against Sigma rules", events.size()));
  airlock::sigma::RuleSet rules;
  std::vector<std::string> dirs = {RulesDir("behavior") + "/behavior"};
  for (const auto& d : rule_dirs) dirs.push_back(d);
  json rule_errors = json::array();
  for (const auto& d : dirs) {
    if (auto s = rules.LoadDirectory(d); !s) rule_errors.push_back(s.error().What());
  }
  std::vector<BehaviorHit> hits;
  json matches = json::array();
  std::set<std::pair<std::string, std::string>> seen;  // (rule, event) dedup
  for (const auto& e : events) {
    for (const auto& m : rules.Match(e)) {
      std::string ev = e.dump();
      if (!seen.insert({m.rule->id, ev}).second) continue;
      hits.push_back({m.rule->id, m.rule->title, m.rule->level, m.rule->techniques, ev});
      if (matches.size() < 500) {
        matches.push_back({{"rule_id", m.rule->id}, {"title", m.rule->title}, {"level", m.rule->level},
                           {"techniques", m.rule->techniques}, {"event", e}});
      }
    }
  }
  report["behavior"] = {{"rules_loaded", rules.report().loaded}, {"rules_supported", rules.report().supported},
                        {"events", events.size()}, {"matches", matches}, {"rule_errors", rule_errors}};

  // 4. Dropped files: everything the sample left in its writable areas.
  Progress(quiet, "[4/4] collecting and triaging dropped files");
  json dropped = json::array();
  for (const char* area : {"tmp", "home"}) {
    std::string root = work + "/" + area;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
      std::string inside = std::string(area == std::string("tmp") ? "/tmp" : "/home/sandbox") +
                           it->path().string().substr(root.size());
      if (inside.rfind(std::string(kBrowseProfileDir) + "/", 0) == 0) continue;  // the browser runner's own profile
      json d = {{"path", inside}, {"size", it->file_size(ec)}};
      if (dropped.size() < 50 && !no_static) {
        json t = StaticTriage(airlock, scan, it->path().string());
        d["verdict"] = t.value("verdict", "unknown");
        d["score"] = t.value("score", 0.0);
        if (t.contains("objects") && !t["objects"].empty() && t["objects"][0].contains("hashes")) {
          d["sha256"] = t["objects"][0]["hashes"].value("sha256", "");
        }
        if (t.contains("techniques"))
          for (const auto& x : t["techniques"]) techniques.insert(x.get<std::string>());
        static_score = std::max(static_score, t.value("score", 0.0));
        json df = json::array();
        if (t.contains("objects"))
          for (const auto& o : t["objects"]) CollectFindings(o, df);
        d["findings"] = df;
      }
      dropped.push_back(d);
    }
  }
  if (runner.kind == "browser") {
    MarkDownloads(dropped, browse_summary);
    report["browser"] = browse_summary;
    for (auto& h : BrowseHits(browse_summary, IsSvgSample(head, name), work + "/tmp")) {
      if (matches.size() < 500) {
        matches.push_back({{"rule_id", h.rule_id}, {"title", h.title}, {"level", h.level}, {"techniques", h.techniques},
                           {"event", json::parse(h.event)}});
      }
      hits.push_back(std::move(h));
    }
    report["behavior"]["matches"] = matches;
  }
  report["dropped"] = dropped;
  report["network"] = BuildNetworkSection(events, run);

  Verdict v = Combine(static_score, techniques, hits);
  report["verdict"] = v.verdict;
  report["score"] = v.score;
  report["techniques"] = std::vector<std::string>(v.techniques.begin(), v.techniques.end());

  std::ofstream(out_dir + "/report.json") << report.dump(2) << "\n";
  std::ofstream(out_dir + "/report.html") << RenderHtmlReport(report, events);

  if (json_out) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << fmt::format("{}: {} (score {:.1f}/10)\n", name, v.verdict, v.score);
    if (!v.techniques.empty()) {
      std::string t;
      for (const auto& x : v.techniques) t += (t.empty() ? "" : ", ") + x;
      std::cout << "  techniques: " << t << "\n";
    }
    std::cout << fmt::format("  runner: {} ({})\n", runner.kind, runner.why);
    std::cout << fmt::format("  events: {}, rule matches: {}, dropped files: {}, static findings: {}\n", events.size(), hits.size(),
                             dropped.size(), findings.size());
    std::set<std::string> shown;
    for (const auto& h : hits) {
      if (shown.insert(h.rule_id).second) std::cout << fmt::format("  [{}] {}\n", h.level, h.title);
    }
    const json& net = report["network"];
    if (!net["domains"].empty() || !net["destinations"].empty()) {
      std::cout << fmt::format("  network ({}): {} domains, {} destinations, {} URLs\n", net.value("mode", ""), net["domains"].size(),
                               net["destinations"].size(), net["urls"].size());
      for (const auto& u : net["urls"]) {
        std::cout << fmt::format("    {} {}\n", u.value("method", ""), u.value("url", ""));
      }
    }
    std::cout << "  reports: " << out_dir << "/report.json, " << out_dir << "/report.html\n";
  }
  return VerdictExitCode(v.verdict);
}
