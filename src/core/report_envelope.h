// The one envelope of every JSON report airlock writes (docs/REPORT.md "The report envelope",
// docs/schema/envelope.schema.json): `airlock run --report`, `scan --json`, analyze's report.json,
// `audit --json`, `box review --json`, `verdicts list --json`, `browser --report`, `downloads list
// --json`, the milter's per-message log lines and the service's task reports (which add the
// envelope's optional `provenance`).
//
// Contract:
//  - StampReportEnvelope writes schema_version (kReportSchemaVersion), tool ("airlock"), version
//    (airlock's), command, started (RFC 3339 UTC, milliseconds, "Z") and duration (seconds, a
//    number) into `report`, which must be an object; every writer calls it once, when the report is
//    complete (duration is measured up to that call). The body's own fields are the writer's.
//  - Verdicts are "clean", "suspicious", "malicious" and "error" (the object could not be judged: a
//    missing or unreadable input, an analysis that could not run). ReportVerdict reads a report's
//    verdict for a consumer and fails closed: anything but a known verdict string is "error".
//  - Scores are numbers 0..10, always written as floating point (a double: 5 is written 5.0).
//  - Findings carry `rule`, `severity` (an integer 0..10), `techniques`, `evidence` and `object` (ReportFinding);
//    hashes are one object `hashes: {sha256, sha1, md5}` (ReportHashes).
//  - Pure, thread-safe; not for the child side after clone() (allocates).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace airlock {

// Bumped when a field of the envelope or of a body is removed, renamed or changes type or meaning;
// new optional fields do not bump it. 2: the one envelope (1 was the run report alone).
inline constexpr int kReportSchemaVersion = 2;

inline constexpr std::string_view kVerdictClean = "clean";
inline constexpr std::string_view kVerdictSuspicious = "suspicious";
inline constexpr std::string_view kVerdictMalicious = "malicious";
inline constexpr std::string_view kVerdictError = "error";

// When a report's work started: wall clock for `started`, a steady clock for `duration`.
struct ReportClock {
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  std::chrono::steady_clock::time_point steady = std::chrono::steady_clock::now();
  double Seconds() const;  // since construction
};

// "2026-12-06T00:15:54.123Z"
std::string Rfc3339Utc(std::chrono::system_clock::time_point t);

void StampReportEnvelope(nlohmann::json& report, std::string_view command, const ReportClock& clock);
void StampReportEnvelope(nlohmann::ordered_json& report, std::string_view command, const ReportClock& clock);

// The verdict of a report (or of one object in it) for a consumer: "clean", "suspicious",
// "malicious" or "error"; a missing, mistyped or unknown verdict is "error" (fail closed).
std::string ReportVerdict(const nlohmann::json& report);
// Strength for combining verdicts: clean 0 < suspicious 1 < error 2 < malicious 3 (an object that
// could not be judged is never better than a suspicious one; malicious wins, as in exit codes).
int VerdictRank(std::string_view verdict);

// {sha256, sha1, md5}: empty values are left out.
nlohmann::json ReportHashes(std::string_view sha256, std::string_view sha1 = {}, std::string_view md5 = {});

// A finding with the common field names; writers add their own fields (title, level, ...) after.
nlohmann::json ReportFinding(std::string_view rule, int severity, const std::vector<std::string>& techniques,
                             std::string_view evidence, std::string_view object);

}  // namespace airlock
