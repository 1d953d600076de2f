#include "milter/scan_worker.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "analyze/runner.h"
#include "core/json_text.h"
#include "milter/frame.h"
#include "milter/strip.h"
#include "scan/blocklist.h"
#include "scan/engine.h"
#include "scan/report_json.h"
#include "scan/scanner.h"
#include "scan/yara_rules.h"

namespace airlock::milter {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string Dump(const json& j) { return DumpJson(j); }

// Reads an extracted object back (the extractor wrote it under `dir`).
std::string ReadBack(const std::string& dir, const std::string& name) {
  std::ifstream f(dir + "/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

json Scan(scan::Engine& plain, scan::EngineOptions eo, const json& req, const std::string& message, std::string& payload) {
  std::vector<std::string> kinds;
  if (req.contains("extract_kinds")) kinds = req["extract_kinds"].get<std::vector<std::string>>();
  std::unique_ptr<scan::Extractor> extractor;
  std::string dir;
  if (!kinds.empty()) {
    static int counter = 0;
    dir = "/tmp/airlock-milter-extract-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    auto ex = scan::Extractor::Open(dir);
    if (ex) extractor = std::move(*ex);
    eo.extractor = extractor.get();
  }
  // The long-lived engine serves plain scans; extraction needs one bound to this request's directory.
  std::unique_ptr<scan::Engine> with_extractor;
  if (extractor) with_extractor = std::make_unique<scan::Engine>(eo);
  scan::Engine& engine = extractor ? *with_extractor : plain;
  auto start = std::chrono::steady_clock::now();
  scan::ScanReport report;
  report.sandboxed = true;  // a worker always runs inside airlock run (milter_main.cc ScanWorkerRequest)
  report.inputs.push_back(engine.ScanBytes(req.value("name", "message.eml"), message));
  scan::AssessScan(report);
  report.duration_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
  json reply = {{"ok", true}, {"report", scan::ReportToJson(report)}, {"extracted", json::array()}};
  if (extractor) {
    std::set<std::string> want(kinds.begin(), kinds.end());
    std::set<std::string> seen;
    for (const auto& child : report.inputs[0].root.children) {
      if (child.extracted_as.empty() || !seen.insert(child.sha256).second) continue;
      std::string bytes = ReadBack(dir, child.extracted_as);
      auto runner = analyze::ChooseRunner(bytes.substr(0, 4096), child.name, "/usr/bin/chromium");
      if (!want.count(runner.kind)) continue;
      reply["extracted"].push_back({{"name", child.name}, {"sha256", child.sha256}, {"kind", runner.kind},
                                    {"offset", payload.size()}, {"length", bytes.size()}});
      payload += bytes;
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return reply;
}

json Strip(const json& req, const std::string& message, std::string& payload) {
  std::map<std::string, Removal> remove;
  if (req.contains("remove")) {
    for (const auto& [sha, why] : req["remove"].items()) {
      remove[sha] = Removal{why.value("verdict", "malicious"), why.value("score", 0.0),
                            why.value("techniques", std::vector<std::string>{})};
    }
  }
  auto r = StripMessage(message, remove);
  if (!r) return {{"ok", false}, {"error", r.error().What()}};
  payload = std::move(r->message);
  return {{"ok", true}, {"removed", r->removed}};
}

}  // namespace

int RunScanWorker(int max_seconds) {
  std::string rules_dir = scan::ProjectRulesDir();
  std::unique_ptr<scan::YaraRules> yara;
  std::error_code ec;
  json ready = {{"ready", true}, {"pid", ::getpid()}};
  if (fs::is_directory(rules_dir + "/yara", ec)) {
    auto loaded = scan::YaraRules::Load({rules_dir + "/yara"}, "");
    if (!loaded) {
      (void)WriteFrame(STDOUT_FILENO, Dump({{"ready", false}, {"error", loaded.error().What()}}), "");
      return 2;
    }
    yara = std::move(*loaded);
    ready["yara_files"] = yara->file_count();
  }
  std::unique_ptr<scan::Blocklist> blocklist;
  if (fs::is_regular_file(rules_dir + "/blocklist.sha256", ec)) {
    auto bl = scan::Blocklist::Load(rules_dir + "/blocklist.sha256");
    if (bl) blocklist = std::move(*bl);
  }
  scan::EngineOptions eo;
  eo.limits.max_seconds = std::max(1, max_seconds);
  eo.yara = yara.get();
  eo.blocklist = blocklist.get();
  scan::Engine plain(eo);
  if (!WriteFrame(STDOUT_FILENO, Dump(ready), "")) return 2;
  for (;;) {
    auto frame = ReadFrame(STDIN_FILENO);
    if (!frame) return frame.error().message() == "end of stream" ? 0 : 2;
    json req = json::parse(frame->header, nullptr, false);
    std::string payload;
    json reply;
    if (req.is_discarded() || !req.is_object()) {
      reply = {{"ok", false}, {"error", "bad request"}};
    } else {
      try {
        std::string op = req.value("op", "");
        if (op == "scan") reply = Scan(plain, eo, req, frame->payload, payload);
        else if (op == "strip") reply = Strip(req, frame->payload, payload);
        else reply = {{"ok", false}, {"error", "unknown op"}};
      } catch (const std::exception& e) {
        reply = {{"ok", false}, {"error", std::string("worker: ") + e.what()}};
      }
    }
    if (!WriteFrame(STDOUT_FILENO, Dump(reply), payload)) return 2;
  }
}

}  // namespace airlock::milter
