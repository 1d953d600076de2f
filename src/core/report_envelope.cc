#include "core/report_envelope.h"

#include <ctime>

#include <fmt/format.h>

namespace airlock {

double ReportClock::Seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - steady).count();
}

std::string Rfc3339Utc(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
}

namespace {

// The envelope's fields first (an ordered document keeps that order), then the body's.
template <typename Json>
void Stamp(Json& report, std::string_view command, const ReportClock& clock) {
  Json out = Json::object();
  out["schema_version"] = kReportSchemaVersion;
  out["tool"] = "airlock";
  out["version"] = AIRLOCK_VERSION;
  out["command"] = std::string(command);
  out["started"] = Rfc3339Utc(clock.started);
  // Milliseconds are enough and keep the number short.
  out["duration"] = static_cast<double>(static_cast<int64_t>(clock.Seconds() * 1000.0)) / 1000.0;
  if (report.is_object()) {
    for (auto it = report.begin(); it != report.end(); ++it) {
      if (!out.contains(it.key())) out[it.key()] = std::move(it.value());
    }
  }
  report = std::move(out);
}

}  // namespace

void StampReportEnvelope(nlohmann::json& report, std::string_view command, const ReportClock& clock) {
  Stamp(report, command, clock);
}
void StampReportEnvelope(nlohmann::ordered_json& report, std::string_view command, const ReportClock& clock) {
  Stamp(report, command, clock);
}

std::string ReportVerdict(const nlohmann::json& report) {
  if (!report.is_object()) return std::string(kVerdictError);
  auto v = report.find("verdict");
  if (v == report.end() || !v->is_string()) return std::string(kVerdictError);
  const std::string& s = v->get_ref<const std::string&>();
  for (std::string_view known : {kVerdictClean, kVerdictSuspicious, kVerdictMalicious}) {
    if (s == known) return s;
  }
  return std::string(kVerdictError);
}

int VerdictRank(std::string_view verdict) {
  if (verdict == kVerdictClean) return 0;
  if (verdict == kVerdictSuspicious) return 1;
  if (verdict == kVerdictMalicious) return 3;
  return 2;  // error, and anything unknown
}

nlohmann::json ReportHashes(std::string_view sha256, std::string_view sha1, std::string_view md5) {
  nlohmann::json h = nlohmann::json::object();
  if (!sha256.empty()) h["sha256"] = std::string(sha256);
  if (!sha1.empty()) h["sha1"] = std::string(sha1);
  if (!md5.empty()) h["md5"] = std::string(md5);
  return h;
}

nlohmann::json ReportFinding(std::string_view rule, int severity, const std::vector<std::string>& techniques,
                             std::string_view evidence, std::string_view object) {
  return nlohmann::json{{"rule", std::string(rule)},
                        {"severity", severity},
                        {"techniques", techniques},
                        {"evidence", std::string(evidence)},
                        {"object", std::string(object)}};
}

}  // namespace airlock
