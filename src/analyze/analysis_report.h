// The parts of `airlock analyze`'s report built from what the sample and the sandboxed helpers
// produced: the sample's output, the monitor's events, airlock-scan's report. Pure (no processes, no
// files), and they never throw on what they are given, whatever its bytes or its shape (a compromised
// scan sandbox can print any JSON): fuzz/fuzz_analyze_report.cc feeds them arbitrary bytes and checks
// that the report still parses. docs/REPORT.md describes the report.
#pragma once

#include <cstdint>
#include <istream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze/verdict.h"

namespace airlock::analyze {

// At most this many monitor events are read (a sample can produce millions; the rest is counted).
inline constexpr size_t kMaxEvents = 50000;

// The monitor's JSON lines (docs/EVENTS.md): at most `max_events` objects are kept; further lines and
// lines that are not JSON objects are counted.
struct EventLines {
  std::vector<nlohmann::json> events;
  uint64_t not_read = 0;    // lines beyond max_events
  uint64_t unparsable = 0;  // lines that were not a JSON object
};
EventLines ReadEventLines(std::istream& in, size_t max_events = kMaxEvents);

// airlock-scan --json's stdout as its report, or {"error": ...} with the exit code and stderr.
nlohmann::json ParseScanOutput(const std::string& out, int exit_code, const std::string& err);

// What a scan report says (docs/REPORT.md "airlock scan"), read field by field: values of the wrong
// type are skipped, never trusted.
// A report that could not be read, or says "error" or has no known verdict, is verdict "error"
// (core/report_envelope.h: fail closed).
struct StaticResult {
  std::string verdict = "error";
  double score = 0;
  std::set<std::string> techniques;
  nlohmann::json findings = nlohmann::json::array();  // every object's findings, each with its "object"
  std::string sha256;                                  // of the first object, when given
  nlohmann::json hashes = nlohmann::json::object();    // the first object's {sha256, sha1, md5}
  nlohmann::json type;                                 // the first object's {mime, description}, or null
  std::string error;                                   // the report's own "error"
};
// `inside` is where the scanner saw its input in its sandbox ("/in"): each finding's object is shown
// as `shown_as` instead ("sample.sh", "sample.sh > member"), never as the sandbox's own path.
StaticResult ReadScanReport(const nlohmann::json& scan, const std::string& inside = "", const std::string& shown_as = "");

// The sample's output as the report keeps it: the first 64 KiB of each stream and the exit code.
nlohmann::json OutputSection(const std::string& out, const std::string& err, int exit_code);

// The `observed_techniques` section: every technique named by a behaviour hit or a static finding,
// whatever the verdict, with its strongest level ("high", "medium", "low", "informational"; a
// capped community rule counts at its capped level) and up to 5 pieces of evidence
// ({source, rule or finding, level, evidence}), sorted by technique. A short text for an event
// (its command line, file and operation, query, destination or syscall) is EventEvidence.
nlohmann::json TechniqueSection(const std::vector<BehaviorHit>& hits, const nlohmann::json& static_findings);
std::string EventEvidence(const nlohmann::json& event);

// The report as written: its strings made valid UTF-8 in place (core/json_text.h: bytes that were not
// are kept as \xNN), then report.json's text (pretty, with a final newline) and report.html's.
struct ReportTexts {
  std::string json;
  std::string html;
};
ReportTexts RenderReport(nlohmann::json& report, const std::vector<nlohmann::json>& events);

}  // namespace airlock::analyze
