// airlock analyze FILE: static triage (airlock-scan, itself run inside a sandbox), detonation with the
// right runner inside the analysis profile under the behaviour monitor, Sigma rules over the events,
// dropped files collected and triaged, one verdict; JSON + self-contained HTML reports.
//
// Nothing the sample does loses the report: its output, names and files are bytes (written as \xNN
// where they are not UTF-8, core/json_text.h); every phase that reads what a sandbox produced is
// guarded (an unexpected shape becomes an entry in "errors", never an abort); SIGINT, SIGTERM and
// SIGHUP (process/interrupt.h) kill the running sandbox at once (`airlock run --on-interrupt kill`),
// skip what is left and still write the report, marked "interrupted". The report files live in the
// output directory, outside everything a sandbox can write (work/tmp and work/home).
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "analyze/analysis_report.h"
#include "analyze/archive_runner.h"
#include "analyze/browse_findings.h"
#include "analyze/misp_export.h"
#include "analyze/network_report.h"
#include "analyze/runner.h"
#include "analyze/standins.h"
#include "analyze/subprocess.h"
#include "analyze/verdict.h"
#include "analyze/work_dir.h"
#include "core/helper_path.h"
#include "core/json_text.h"
#include "core/navigator_layer.h"
#include "core/private_dir.h"
#include "core/report_envelope.h"
#include "process/interrupt.h"
#include "runapi/run_report.h"
#include "runapi/run_request.h"
#include "runapi/scan_request.h"
#include "sigma/rule_set.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace airlock::analyze;

namespace {

constexpr const char* kPcapFile = "traffic.pcap";  // the sinkhole's traffic as packets (net/pcap_writer.h)

std::string ReadHead(const std::string& path, size_t max) {
  std::ifstream f(path, std::ios::binary);
  std::string s(max, '\0');
  f.read(s.data(), static_cast<std::streamsize>(max));
  s.resize(static_cast<size_t>(f.gcount()));
  return s;
}

std::string RulesDir(const std::string& sub) { return airlock::FindRulesDir(sub, AIRLOCK_ANALYZE_SOURCE_RULES_DIR); }

// Writes `text` to `path` through a temporary file and a rename: a reader never sees half a report.
bool WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc | std::ios::binary);
    f << text;
    f.flush();
    if (!f) return false;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return !ec;
}

struct Args {
  std::string sample_path, out_dir, timeout = "60s", navigator, misp;
  std::vector<std::string> setenv_kv, rule_dirs;
  bool json_out = false, quiet = false, no_static = false;
};

// One analysis: where things are, what was learnt so far, and the report being built.
class Analysis {
 public:
  Analysis(Args args, airlock::process::InterruptWatch& interrupt) : a_(std::move(args)), interrupt_(interrupt) {}
  int Run();

 private:
  airlock::Status MakeDirectories();
  bool Stage();
  bool StageFailed(const std::string& why) {
    std::cerr << "airlock analyze: " << why << "\n";
    errors_.push_back(why);
    return false;
  }
  void StaticPhase();
  void PrepareArchiveMembers();
  void DetonationPhase();
  void RulesPhase();
  void DroppedPhase();
  json TriageDropped(const std::string& host_path, const std::string& inside);
  void BrowserPhase();
  int Finish();
  void PrintSummary(const Verdict& v) const;
  void JudgedOrError(Verdict& v);
  int NotRun();

  bool Interrupted() const { return interrupt_.Pending(); }
  void Progress(const std::string& msg) const {
    if (!a_.quiet) std::cerr << "airlock analyze: " << msg << std::endl;
  }
  // Runs one phase; an exception (an unexpected shape in what a sandbox produced) is recorded.
  template <class F>
  void Guarded(const char* phase, F f) {
    try {
      f();
    } catch (const std::exception& e) {
      errors_.push_back(fmt::format("{}: {}", phase, e.what()));
    }
  }
  json StaticTriage(const std::string& target, const std::string& extract_dir = "");
  airlock::runapi::RunRequest DetonationRequest() const;

  Args a_;
  airlock::process::InterruptWatch& interrupt_;
  std::string name_, out_dir_, work_, staged_, head_, airlock_, scan_, members_dir_, standin_;
  Runner runner_;
  bool unpack_members_ = false;
  HostIds scan_ids_;
  airlock::ReportClock clock_;
  json report_;
  std::string static_error_;  // static triage ran and gave no verdict
  json findings_ = json::array();
  double static_score_ = 0;
  std::set<std::string> techniques_;
  std::vector<json> events_;
  json run_ = json::object();
  json browse_summary_;
  std::vector<BehaviorHit> hits_;
  json matches_ = json::array();
  json dropped_ = json::array();
  std::vector<std::string> errors_;
};

// Every directory created here is private (analyze/work_dir.h): the sample, its unpacked members and
// what it writes are never reachable by another local user.
airlock::Status Analysis::MakeDirectories() {
  auto detonation_ids = SandboxHostIds("analysis");
  if (!detonation_ids) return std::unexpected(detonation_ids.error());
  auto scan_ids = SandboxHostIds("default");
  if (!scan_ids) return std::unexpected(scan_ids.error());
  scan_ids_ = *scan_ids;
  AIRLOCK_TRY_STATUS(airlock::MakePrivateDirs(out_dir_), "report directory");
  out_dir_ = fs::absolute(out_dir_).string();
  std::error_code ec;
  fs::remove(out_dir_ + "/" + kPcapFile, ec);  // a run in the same directory writes a new one (never over a file)
  work_ = out_dir_ + "/work";
  return PrepareWorkDir(work_, /*with_members=*/false, *detonation_ids);
}

// The output directory and the staged copy of the sample; false (message printed) when impossible.
// The sandbox writes only work/tmp and work/home; the reports sit beside work/, out of its reach.
bool Analysis::Stage() {
  std::error_code ec;
  if (!fs::is_regular_file(a_.sample_path, ec)) {
    return StageFailed(airlock::Utf8Text(a_.sample_path) + ": not a regular file");
  }
  name_ = fs::path(a_.sample_path).filename().string();
  const std::string safe = SafeSampleName(name_);
  out_dir_ = a_.out_dir.empty() ? "airlock-analysis-" + safe : a_.out_dir;
  if (airlock::Status made = MakeDirectories(); !made) {
    return StageFailed(made.error().What());
  }
  staged_ = work_ + "/sample/" + safe;
  fs::copy_file(a_.sample_path, staged_, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    return StageFailed("cannot stage sample: " + ec.message());
  }
  ::chmod(staged_.c_str(), 0555);
  airlock_ = airlock::FindHelper("airlock");
  scan_ = airlock::FindHelper("airlock-scan");
  if (airlock_.empty()) {
    return StageFailed("the airlock binary was not found");
  }
  report_["sample"] = {{"name", name_}, {"size", fs::file_size(staged_, ec)}};
  return true;
}

// Runs airlock-scan --json on `target` inside a default-profile sandbox (least privilege for the
// parsers). Returns the parsed report, or an object with "error". With `extract_dir`, every object is
// also written there (airlock-scan --extract; the directory is the only writable bind).
json Analysis::StaticTriage(const std::string& target, const std::string& extract_dir) {
  if (scan_.empty()) return json{{"error", "airlock-scan is not installed: no static triage"}};
  const std::string rules = RulesDir("yara");
  airlock::runapi::ScanJob job{airlock_, scan_, fs::is_directory(rules) ? rules : "", {{target, "/in"}}, {"/in"}, extract_dir};
  auto argv = airlock::runapi::ScanRequest(job).Argv();
  if (!argv) return json{{"error", "static triage: " + argv.error().What()}};
  ProcResult r = RunCapture(*argv, 64 << 20, interrupt_.fd());
  return ParseScanOutput(r.out, r.exit_code, r.err);
}

// The runner is chosen first: for an archive, static triage also extracts its objects (one scan
// serves both the report and the archive runner's members).
void Analysis::StaticPhase() {
  std::error_code ec;
  head_ = ReadHead(staged_, 4096);
  std::string browser = fs::exists("/usr/bin/chromium") ? "/usr/bin/chromium" : "";
  runner_ = ChooseRunner(head_, name_, browser, airlock::FindHelper("airlock-browse"), BrowseBudgetMs(a_.timeout));
  members_dir_ = work_ + "/sample/members";
  unpack_members_ = runner_.kind == "archive" && !scan_.empty() && !a_.no_static;
  if (unpack_members_) {
    // Written by the scan sandbox: its host ids own it, mode 0700.
    if (auto made = MakePrivateDir(members_dir_, scan_ids_); !made) {
      errors_.push_back("archive members: " + made.error().What());
      unpack_members_ = false;
    }
  }
  if (a_.no_static) {
    report_["static"] = {{"skipped", "--no-static"}, {"score", 0.0}, {"findings", findings_}};
    return;
  }
  report_["static"] = {{"verdict", "error"}, {"score", 0.0}, {"findings", findings_}};
  Progress(unpack_members_ ? "[1/4] static triage, unpacking the archive" : "[1/4] static triage");
  StaticResult s = ReadScanReport(StaticTriage(staged_, unpack_members_ ? members_dir_ : ""), "/in", name_);
  static_score_ = s.score;
  techniques_.insert(s.techniques.begin(), s.techniques.end());
  if (!s.sha256.empty()) {
    report_["sample"]["hashes"] = s.hashes;
    report_["sample"]["sha256"] = s.sha256;  // deprecated: "hashes"
  }
  if (!s.type.is_null()) report_["sample"]["type"] = s.type;
  findings_ = s.findings;
  report_["static"] = {{"verdict", s.verdict}, {"score", s.score}, {"findings", findings_}};
  if (!s.error.empty()) report_["static"]["error"] = s.error;
  if (s.verdict == "error") static_error_ = s.error.empty() ? "static triage gave no verdict" : s.error;
}

// Static triage unpacked the archive (airlock-scan --extract) into /sample/members: its runnable
// members are detonated together by a driver script.
void Analysis::PrepareArchiveMembers() {
  json members_report = json::array();
  if (!unpack_members_) {
    runner_.why = "archive: not unpacked (airlock-scan unavailable or --no-static); static analysis only";
  } else {
    std::error_code ec;
    for (auto it = fs::directory_iterator(members_dir_, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0555);
    }
    std::vector<ArchiveMember> members = RunnableMembers(members_dir_, "/sample/members", 16);
    for (const auto& m : members) members_report.push_back({{"name", m.name}, {"file", m.file}, {"kind", m.kind}, {"argv", m.argv}});
    if (members.empty()) {
      runner_.why = "archive: unpacked, no runnable member (ELF, shell, Python, Perl); static analysis only";
    } else {
      std::ofstream(work_ + "/sample/airlock-members.sh") << MemberDriverScript(members);
      ::chmod((work_ + "/sample/airlock-members.sh").c_str(), 0555);
      runner_.argv = {"/bin/sh", "/sample/airlock-members.sh"};
      runner_.why = fmt::format("archive: unpacked, {} runnable member(s) detonated together", members.size());
    }
  }
  report_["runner"]["members"] = members_report;
}

// The detonation's `airlock run`: the analysis profile, the sample read-only, /tmp and the home
// writable, under the behaviour monitor (every read too: detonation wants credential reads more than
// speed), with the run report; an interrupt kills its sandbox at once.
airlock::runapi::RunRequest Analysis::DetonationRequest() const {
  airlock::runapi::RunRequest req(airlock_);
  req.Profile("analysis").RoBind(work_ + "/sample", "/sample").Bind(work_ + "/tmp", "/tmp").Bind(work_ + "/home", "/home/sandbox");
  req.Chdir("/home/sandbox").Timeout(a_.timeout).Monitor(out_dir_ + "/events.jsonl", /*reads=*/true);
  req.Report(out_dir_ + "/run.json").KillOnInterrupt().NetPcap(out_dir_ + "/" + kPcapFile);
  if (!standin_.empty()) {
    // The recording stand-ins (standins.h) on PATH, unless the caller sets PATH itself.
    req.RoBind(standin_, kStandinProgram).RoBind(work_ + "/standins", kStandinBinDir).SetEnv("PATH=" + StandinPath());
  }
  for (const auto& kv : a_.setenv_kv) req.SetEnv(kv);
  for (const auto& [host, inside] : runner_.ro_binds_at) req.RoBind(host, inside);
  for (const auto& rl : runner_.rlimits) req.Rlimit(rl);
  std::error_code ec;
  for (const auto& b : runner_.ro_binds) {
    if (fs::exists(b, ec)) req.RoBind(b, b);
  }
  return req.Command(runner_.argv);
}

void Analysis::DetonationPhase() {
  if (runner_.kind == "archive") PrepareArchiveMembers();
  report_["runner"]["kind"] = runner_.kind;
  report_["runner"]["why"] = runner_.why;
  report_["runner"]["argv"] = runner_.argv;
  if (runner_.argv.empty()) {
    Progress("[2/4] no runner: " + runner_.why);
    return;
  }
  if (Interrupted()) {
    run_ = json{{"error", "not run: interrupted before the detonation"}};
    return;
  }
  standin_ = airlock::FindHelper("airlock-standin");
  if (standin_.empty()) {
    report_["runner"]["standins"] = "airlock-standin is not installed: no tool stand-ins";
  } else if (auto made = MakeStandinDir(work_ + "/standins"); !made) {
    errors_.push_back(made.error().What());
    standin_.clear();
  } else {
    report_["runner"]["standins"] = StandinTools();
  }
  Progress(fmt::format("[2/4] detonating with runner '{}' for up to {}", runner_.kind, a_.timeout));
  const std::string run_report_path = out_dir_ + "/run.json";
  auto args = DetonationRequest().Argv();
  ProcResult r = args ? RunCapture(*args, 1 << 20, interrupt_.fd()) : ProcResult{-1, "", args.error().What()};
  if (runner_.kind == "browser") browse_summary_ = ParseBrowseSummary(r.out);
  report_["output"] = OutputSection(r.out, r.err, r.exit_code);
  // The run report, checked against its schema (runapi/run_report.h) and kept as airlock wrote it.
  if (auto rr = airlock::runapi::ReadRunReportFile(run_report_path); rr) {
    run_ = json::parse(ReadHead(run_report_path, 16u << 20), nullptr, /*allow_exceptions=*/false);
  } else {
    run_ = json{{"error", "no run report: " + rr.error().What() + ": " + r.err.substr(0, 500)}};
  }
  std::ifstream events(out_dir_ + "/events.jsonl");
  EventLines lines = ReadEventLines(events);
  events_ = std::move(lines.events);
  if (lines.not_read > 0) report_["events_not_read"] = lines.not_read;
}

// The community rules that decide a verdict alone (rules/community/decisive.txt: one Sigma rule id a
// line, '#' comments): every other rule from a --rules directory is capped at suspicious.
std::set<std::string> DecisiveCommunityRules(const std::string& file) {
  std::set<std::string> ids;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line) && ids.size() < 10000;) {
    line = line.substr(0, line.find('#'));
    line.erase(0, line.find_first_not_of(" \t\r"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (!line.empty()) ids.insert(line);
  }
  return ids;
}

bool IsDiscovery(const airlock::sigma::Rule& rule) {
  for (const auto& t : rule.tags)
    if (t == "attack.discovery") return true;
  return false;
}

void Analysis::RulesPhase() {
  Progress(fmt::format("[3/4] matching {} events against Sigma rules", events_.size()));
  airlock::sigma::RuleSet rules;
  const std::string builtin = RulesDir("behavior") + "/behavior";
  std::vector<std::string> dirs = {builtin};
  for (const auto& d : a_.rule_dirs) dirs.push_back(d);
  json rule_errors = json::array();
  for (const auto& d : dirs) {
    if (auto s = rules.LoadDirectory(d); !s) rule_errors.push_back(s.error().What());
  }
  const std::set<std::string> decisive = DecisiveCommunityRules(RulesDir("behavior") + "/community/decisive.txt");
  std::set<std::pair<std::string, std::string>> seen;  // (rule, event) dedup
  size_t community_hits = 0;
  for (const auto& e : events_) {
    for (const auto& m : rules.Match(e)) {
      std::string ev = airlock::DumpJson(e);
      if (!seen.insert({m.rule->id, ev}).second) continue;
      const bool community = m.rule->origin.rfind(builtin + "/", 0) != 0;
      community_hits += community;
      BehaviorHit hit{m.rule->id, m.rule->title, m.rule->level, m.rule->techniques, ev, community,
                      community && decisive.contains(m.rule->id), IsDiscovery(*m.rule)};
      if (matches_.size() < 500) {
        json match = airlock::ReportFinding(m.rule->id, LevelScore(m.rule->level), m.rule->techniques, EventEvidence(e), name_);
        match.update({{"rule_id", m.rule->id}, {"title", m.rule->title}, {"level", m.rule->level}, {"event", e}});
        if (community) match["community"] = hit.decisive ? "decisive" : "capped at medium";
        matches_.push_back(std::move(match));
      }
      hits_.push_back(std::move(hit));
    }
  }
  report_["behavior"] = {{"rules_loaded", rules.report().loaded}, {"rules_supported", rules.report().supported},
                         {"events", events_.size()}, {"matches", matches_}, {"rule_errors", rule_errors},
                         {"community_matches", community_hits}, {"decisive_community_rules", decisive.size()}};
}

// One dropped file's static triage (in its own sandbox): verdict, score, hash and findings.
json Analysis::TriageDropped(const std::string& host_path, const std::string& inside) {
  StaticResult s = ReadScanReport(StaticTriage(host_path), "/in", inside);
  techniques_.insert(s.techniques.begin(), s.techniques.end());
  static_score_ = std::max(static_score_, s.score);
  json d = {{"verdict", s.verdict}, {"score", s.score}, {"findings", s.findings}};
  if (!s.sha256.empty()) {
    d["hashes"] = s.hashes;
    d["sha256"] = s.sha256;  // deprecated: "hashes"
  }
  return d;
}

// Everything the sample left in its writable areas; triaged unless interrupted (no new sandbox then).
void Analysis::DroppedPhase() {
  Progress("[4/4] collecting and triaging dropped files");
  std::error_code ec;
  for (const char* area : {"tmp", "home"}) {
    std::string root = work_ + "/" + area;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
      std::string inside = std::string(area == std::string("tmp") ? "/tmp" : "/home/sandbox") +
                           it->path().string().substr(root.size());
      if (inside.rfind(std::string(kBrowseProfileDir) + "/", 0) == 0) continue;  // the browser runner's own profile
      json d = {{"path", inside}, {"size", it->file_size(ec)}};
      if (dropped_.size() < 50 && !a_.no_static && !Interrupted()) d.update(TriageDropped(it->path().string(), inside));
      dropped_.push_back(d);
    }
  }
}

void Analysis::BrowserPhase() {
  MarkDownloads(dropped_, browse_summary_);
  report_["browser"] = browse_summary_;
  for (auto& h : BrowseHits(browse_summary_, IsSvgSample(head_, name_), work_ + "/tmp")) {
    if (matches_.size() < 500) {
      json event = json::parse(h.event, nullptr, /*allow_exceptions=*/false);
      json match = airlock::ReportFinding(h.rule_id, LevelScore(h.level), h.techniques, EventEvidence(event), name_);
      match.update({{"rule_id", h.rule_id}, {"title", h.title}, {"level", h.level}, {"event", event.is_discarded() ? json(h.event) : event}});
      matches_.push_back(std::move(match));
    }
    hits_.push_back(std::move(h));
  }
  report_["behavior"]["matches"] = matches_;
}

void Analysis::PrintSummary(const Verdict& v) const {
  std::cout << fmt::format("{}: {} (score {:.1f}/10){}\n", airlock::Utf8Text(name_), v.verdict, v.score,
                           report_.value("interrupted", false) ? " [interrupted: incomplete]" : "");
  if (report_.contains("observed_techniques") && report_["observed_techniques"].is_array() && !report_["observed_techniques"].empty()) {
    std::string t;
    for (const auto& x : report_["observed_techniques"]) t += fmt::format("{}{} ({})", t.empty() ? "" : ", ", x.value("technique", ""), x.value("level", ""));
    std::cout << "  techniques: " << airlock::Utf8Text(t) << "\n";
  }
  for (const auto& r : v.reasons) std::cout << "  why: " << r << "\n";
  std::cout << fmt::format("  runner: {} ({})\n", runner_.kind, runner_.why);
  std::cout << fmt::format("  events: {}, rule matches: {}, dropped files: {}, static findings: {}\n", events_.size(), hits_.size(),
                           dropped_.size(), findings_.size());
  std::set<std::string> shown;
  for (const auto& h : hits_) {
    if (shown.insert(h.rule_id).second) std::cout << fmt::format("  [{}] {}\n", h.level, h.title);
  }
  const json& net = report_["network"];
  if (!net["domains"].empty() || !net["destinations"].empty()) {
    std::cout << fmt::format("  network ({}): {} domains, {} destinations, {} URLs\n", net.value("mode", ""), net["domains"].size(),
                             net["destinations"].size(), net["urls"].size());
    for (const auto& u : net["urls"]) std::cout << fmt::format("    {} {}\n", u.value("method", ""), u.value("url", ""));
  }
  std::cout << "  reports: " << out_dir_ << "/report.json, " << out_dir_ << "/report.html";
  if (net.contains("pcap")) std::cout << "; traffic: " << out_dir_ << "/" << kPcapFile;
  std::cout << "\n";
}

// An analysis whose static triage or detonation could not run did not judge the sample: unless
// what did run found it malicious, the verdict is "error" (never "clean"; exit status 2).
void Analysis::JudgedOrError(Verdict& v) {
  std::string why = static_error_;
  if (why.empty() && !runner_.argv.empty() && run_.contains("error")) why = "detonation: " + run_.value("error", std::string());
  if (why.empty() || v.verdict == "malicious") return;
  v.verdict = "error";
  v.reasons.push_back("not judged: " + why);
}

// The sample could not even be staged: with --json, a report that says so (verdict "error").
int Analysis::NotRun() {
  if (a_.json_out) {
    json r = {{"verdict", "error"}, {"score", 0.0}, {"techniques", json::array()},
              {"sample", {{"name", fs::path(a_.sample_path).filename().string()}}}, {"errors", errors_}};
    airlock::StampReportEnvelope(r, "analyze", clock_);
    std::cout << airlock::DumpJson(r, 2) << "\n";
  }
  return 2;
}

// The verdict, the interruption, the reports written (both or an error), the summary printed.
int Analysis::Finish() {
  report_["dropped"] = dropped_;
  Guarded("network", [&] { report_["network"] = BuildNetworkSection(events_, run_); });
  Verdict v = Combine(static_score_, techniques_, hits_);
  JudgedOrError(v);
  report_["verdict"] = v.verdict;
  report_["score"] = v.score;
  report_["techniques"] = std::vector<std::string>(v.techniques.begin(), v.techniques.end());
  report_["verdict_reasons"] = v.reasons;
  Guarded("techniques", [&] { report_["observed_techniques"] = TechniqueSection(hits_, findings_); });
  const int signo = interrupt_.Signal();
  report_["interrupted"] = signo != 0;
  if (signo != 0) report_["interrupt_signal"] = signo;
  if (!errors_.empty()) report_["errors"] = errors_;
  airlock::StampReportEnvelope(report_, "analyze", clock_);
  ReportTexts texts = RenderReport(report_, events_);
  bool written = WriteFileAtomically(out_dir_ + "/report.json", texts.json);
  written = WriteFileAtomically(out_dir_ + "/report.html", texts.html) && written;
  const std::string layer = airlock::DumpJson(airlock::NavigatorLayer(report_, "airlock analyze " + name_, "Techniques airlock saw in " + name_), 2) + "\n";
  written = WriteFileAtomically(out_dir_ + "/navigator.json", layer) && written;
  if (!a_.navigator.empty()) written = WriteFileAtomically(a_.navigator, layer) && written;
  const std::string misp = airlock::DumpJson(airlock::analyze::MispEvent(report_), 2) + "\n";
  written = WriteFileAtomically(out_dir_ + "/misp.json", misp) && written;
  if (!a_.misp.empty()) written = WriteFileAtomically(a_.misp, misp) && written;
  if (!written) std::cerr << "airlock analyze: cannot write the reports in " << out_dir_ << "\n";
  if (a_.json_out) {
    std::cout << texts.json;
  } else {
    PrintSummary(v);
  }
  if (!written) return 2;
  return signo != 0 ? 128 + signo : VerdictExitCode(v.verdict);
}

int Analysis::Run() {
  if (!Stage()) return NotRun();
  Guarded("static triage", [&] { StaticPhase(); });
  Guarded("detonation", [&] { DetonationPhase(); });
  report_["run"] = run_;
  Guarded("behaviour rules", [&] { RulesPhase(); });
  Guarded("dropped files", [&] { DroppedPhase(); });
  if (runner_.kind == "browser") Guarded("browser", [&] { BrowserPhase(); });
  return Finish();
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread or child: SIGINT/SIGTERM/SIGHUP are taken, not fatal (process/interrupt.h).
  airlock::process::InterruptWatch interrupt;
  Args a;
  CLI::App app{"Detonate a file inside an airlock analysis sandbox under the behaviour monitor, judge it with\n"
               "Sigma rules and static triage, and write JSON and HTML reports.\n"
               "Exit status: 0 clean, 1 malicious, 2 error, 3 suspicious; 128+N when interrupted by signal N\n"
               "(SIGINT, SIGTERM, SIGHUP: the sandbox is killed, the report is written and says \"interrupted\").",
               "airlock analyze"};
  app.add_option("file", a.sample_path, "the sample")->required();
  app.add_option("--timeout", a.timeout, "how long the sample may run (default 60s)");
  app.add_option("--out", a.out_dir, "report directory (default: ./airlock-analysis-<name>)");
  app.add_option("--navigator", a.navigator, "also write the ATT&CK Navigator layer (OUT/navigator.json) to FILE")->type_name("FILE");
  app.add_option("--misp", a.misp, "also write the indicators as a MISP event (OUT/misp.json) to FILE")->type_name("FILE");
  app.add_option("--setenv", a.setenv_kv, "KEY=VALUE in the sample's environment")->allow_extra_args(false);
  app.add_option("--rules", a.rule_dirs, "additional Sigma rule directory (repeatable)")->allow_extra_args(false);
  app.add_flag("--json", a.json_out, "print the JSON report on stdout");
  app.add_flag("-q,--quiet", a.quiet, "no progress on stderr");
  app.add_flag("--no-static", a.no_static, "skip static triage");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is 0; a usage error is an error (2), not CLI11's own code
  }
  return Analysis(std::move(a), interrupt).Run();
}
