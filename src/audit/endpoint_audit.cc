#include "audit/endpoint_audit.h"

#include <glob.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/file_read.h"
#include "core/json_text.h"

namespace airlock::audit {
namespace {

using nlohmann::json;

constexpr const char* kDefaultStateDir = "/var/lib/airlock/watch";
constexpr const char* kStartIt = "start it: `systemctl enable --now airlock-watch` (examples/systemd/airlock-watch.service), or `airlock watch --enforce`";

std::string Text(const json& j, const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : ""; }
bool Flag(const json& j, const char* key) { return j.contains(key) && j[key].is_boolean() && j[key].get<bool>(); }
uint64_t Count(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number_integer()) return 0;
  return j[key].is_number_unsigned() ? j[key].get<uint64_t>() : static_cast<uint64_t>(std::max<int64_t>(0, j[key].get<int64_t>()));
}
std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.contains(key) || !j[key].is_array()) return out;
  for (const auto& s : j[key]) {
    if (s.is_string()) out.push_back(s.get<std::string>());
  }
  return out;
}

void Check(TargetReport& r, bool ok, Pass pass, Finding finding) {
  if (ok) r.passes.push_back(std::move(pass));
  else r.findings.push_back(std::move(finding));
}

// The settings of a live daemon.
void GradeSettings(TargetReport& r, const json& s, const std::vector<std::string>& downloads) {
  const std::string mode = Text(s, "mode"), fail = Text(s, "fail_mode");
  Check(r, mode == "enforce", {"END-GATE-ENFORCE", "the execution gate enforces (unjudged files do not run)"},
        {"END-GATE-MONITOR", Severity::kHigh, "the execution gate only logs", fmt::format("mode = {} (status.json)", Utf8Text(mode.empty() ? "?" : mode)),
         "run `airlock watch --enforce` (mode = \"enforce\" in [watch]) once monitor mode has shown no false blocks", "T1204.002"});
  Check(r, fail == "closed", {"END-FAIL-CLOSED", "a decision past its timeout refuses (fail mode closed)"},
        {"END-FAIL-OPEN", Severity::kMedium, "a decision past its timeout lets the file run",
         fmt::format("fail_mode = {} (status.json)", Utf8Text(fail.empty() ? "?" : fail)), "fail_mode = \"closed\" (the default) in [watch]", "T1562.001"});
  Check(r, Flag(s, "interpreters"), {"END-INTERPRETERS", "interpreters and the loader are gated (sh FILE, python3 FILE, ld.so FILE)"},
        {"END-NO-INTERPRETERS", Severity::kHigh, "sh FILE, python3 FILE and ld.so FILE run unjudged files", "interpreters = false (status.json)",
         "drop --no-interpreters (interpreters = true in [watch])", "T1059.004"});
  const auto fs_marks = Strings(s, "filesystem_marks"), mount_marks = Strings(s, "mount_marks");
  Check(r, !fs_marks.empty() || !mount_marks.empty(), {"END-MARKS", "the gate marks filesystems or mounts"},
        {"END-NO-MARKS", Severity::kCritical, "the gate marks nothing: it sees no exec", "filesystem_marks and mount_marks are empty (status.json)",
         "mark the filesystems programs run from (the defaults: /, /home, /tmp, /var/tmp, /dev/shm)", "T1204.002"});
  // `watch` directories are watched with their subdirectories; a status whose "watcher" is null had
  // none running (a kernel without directory-entry events): nothing is watched then.
  const auto watched = Strings(s, "watch");
  const bool watcher_down = s.contains("watcher") && s["watcher"].is_null();
  std::vector<std::string> missing;
  for (const auto& d : downloads) {
    const bool covered = std::any_of(watched.begin(), watched.end(), [&](const std::string& w) { return (d + "/").starts_with(w.ends_with('/') ? w : w + "/"); });
    if (watcher_down || !covered) missing.push_back(d);
  }
  Check(r, missing.empty(), {"END-DOWNLOADS", "every Downloads directory is watched (files judged when they land)"},
        {"END-DOWNLOADS-UNWATCHED", Severity::kLow, "downloads there are judged only when someone runs them",
         fmt::format("not watched: {}{}", Utf8Text(fmt::format("{}", fmt::join(missing, ", "))),
                     watcher_down ? " (the directory watcher is not running: kernel 5.9 or later is needed, see the daemon's log)" : ""),
         "add each with --watch DIR (watch = [...] in [watch])", "T1105"});
}

// What the daemon's counters say since it started.
void GradeCounters(TargetReport& r, const json& s) {
  const json gate = s.contains("gate") && s["gate"].is_object() ? s["gate"] : json::object();
  const json judge = s.contains("judge") && s["judge"].is_object() ? s["judge"] : json::object();
  const uint64_t watchdog = Count(gate, "watchdog"), dropped = Count(s, "log_dropped"), failed = Count(judge, "failed");
  Check(r, watchdog == 0, {"END-NO-WATCHDOG", "every decision came in time (no watchdog answer)"},
        {"END-WATCHDOG", Severity::kLow, "decisions were answered by the watchdog (the fail mode), not by a verdict",
         fmt::format("gate.watchdog = {} since the daemon started (status.json)", watchdog), "look in the daemon's log for slow decisions; give the judge more concurrency", "T1562.001"});
  Check(r, dropped == 0, {"END-LOG-COMPLETE", "no log line was dropped"},
        {"END-LOG-DROPPED", Severity::kLow, "log lines were dropped (the log could not keep up)", fmt::format("log_dropped = {} (status.json)", dropped),
         "log to a faster destination, or rotate it", "T1562.002"});
  Check(r, failed == 0, {"END-JUDGE-OK", "every judgement finished"},
        {"END-JUDGE-FAILED", Severity::kInfo, "some files could not be judged (they stay refused in enforce mode)", fmt::format("judge.failed = {} (status.json)", failed),
         "see the daemon's log for why (a scan sandbox that cannot start, an unreadable file)", "T1204.002"});
}

// Whether the status's pid is a running airlock-watch that rewrote it in the last 30 s ("" when so).
std::string WhyNotLive(const std::string& path, const json& status) {
  if (!status.is_object()) return fmt::format("no status in {}", path);
  if (!status.contains("pid") || !status["pid"].is_number_integer()) return fmt::format("{} names no pid", path);
  const int pid = status["pid"].get<int>();
  auto comm = ReadRegularFileBounded(fmt::format("/proc/{}/comm", pid), 64, "comm");
  if (pid <= 0 || !comm || comm->rfind("airlock-watch", 0) != 0) return fmt::format("{} names pid {}, which is no running airlock-watch", path, pid);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fmt::format("{}: {}", path, std::strerror(errno));
  const long age = static_cast<long>(std::time(nullptr) - st.st_mtime);
  if (age > 30) return fmt::format("{} was last rewritten {} s ago (every second while the daemon works): it is hung", path, age);
  return "";
}

std::vector<std::string> HostDownloads() {
  std::vector<std::string> out;
  glob_t g{};
  if (::glob("/home/*/Downloads", GLOB_ONLYDIR | GLOB_NOSORT, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  ::globfree(&g);
  struct stat st {};
  if (::stat("/root/Downloads", &st) == 0 && S_ISDIR(st.st_mode)) out.emplace_back("/root/Downloads");
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

bool IsEndpointTarget(const std::string& target) { return target == "endpoint" || target.rfind("endpoint:", 0) == 0; }

TargetReport GradeEndpoint(const std::string& target, const json& status, bool live, const std::string& why_not_live,
                           const std::vector<std::string>& downloads) {
  TargetReport r;
  r.target = target;
  r.kind = TargetKind::kEndpoint;
  if (!live) {
    const std::string evidence = Utf8Text(why_not_live);
    r.findings.push_back({"END-WATCH-DOWN", Severity::kCritical, "airlock watch is not running", evidence, kStartIt, "T1562.001"});
    r.findings.push_back({"END-NO-GATE", Severity::kCritical, "nothing gates exec: unjudged downloads run on the host", evidence, kStartIt, "T1204.002"});
    r.findings.push_back({"END-NO-JUDGE", Severity::kCritical, "nothing judges downloaded files", evidence, kStartIt, "T1105"});
  } else {
    GradeSettings(r, status, downloads);
    GradeCounters(r, status);
  }
  Finalize(r);
  return r;
}

Result<TargetReport> AuditEndpoint(const std::string& target) {
  const std::string dir = target == "endpoint" ? kDefaultStateDir : target.substr(9);
  if (dir.empty() || dir[0] != '/') return MakeError(fmt::format("{}: the state directory must be an absolute path (endpoint:/var/lib/airlock/watch)", Utf8Text(target)));
  const std::string path = dir + "/status.json";
  auto text = ReadRegularFileBounded(path, 1 << 20, "status larger than 1 MiB");
  const json status = text ? json::parse(*text, nullptr, false) : json();
  const std::string why = WhyNotLive(path, status);
  return GradeEndpoint(target, status, why.empty(), why, HostDownloads());
}

}  // namespace airlock::audit
