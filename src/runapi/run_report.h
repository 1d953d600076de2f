// The `airlock run --report FILE` contract, described once: the field names the writer
// (sandbox/outcome.cc) uses, the schema version, and a typed reader for consumers (analyze, milter,
// scan, tests). docs/schema/run-report.schema.json publishes the same description as a JSON Schema;
// tests/schema validates real reports against it.
//
// Versioning: kRunReportSchemaVersion is bumped when a field is removed, renamed or changes type or
// meaning; adding an optional field does not bump it. The reader accepts versions 1..current and
// rejects newer ones (a consumer older than the airlock that wrote the report must not guess).
//
// Header-only field names (no link dependency), so the writer in src/sandbox can share them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/report_envelope.h"

namespace airlock::runapi {

// The run report is one body of the common envelope (core/report_envelope.h, command "run"): its
// schema_version is the envelope's. The reader accepts 1 (reports before the envelope) up to it.
inline constexpr int kRunReportSchemaVersion = kReportSchemaVersion;

// Field names of the report's top-level object and its nested objects.
namespace report_field {
inline constexpr const char* kSchemaVersion = "schema_version";
inline constexpr const char* kStatus = "status";                  // airlock's exit status
inline constexpr const char* kReason = "reason";                  // one of kReason* below
inline constexpr const char* kChildExitStatus = "child_exit_status";  // optional
inline constexpr const char* kChildSignal = "child_signal";       // optional
inline constexpr const char* kError = "error";                    // optional, one line
inline constexpr const char* kWallSeconds = "wall_seconds";
inline constexpr const char* kCpuSeconds = "cpu_seconds";         // {user, system}
inline constexpr const char* kCpuUser = "user";
inline constexpr const char* kCpuSystem = "system";
inline constexpr const char* kPeakMemoryBytes = "peak_memory_bytes";  // integer or null
inline constexpr const char* kLayers = "layers";                  // [{name, engaged, detail}]
inline constexpr const char* kLayerName = "name";
inline constexpr const char* kLayerEngaged = "engaged";
inline constexpr const char* kLayerDetail = "detail";
inline constexpr const char* kNotEnforced = "not_enforced";       // [string]
inline constexpr const char* kWeakenings = "weakenings";          // [string]
inline constexpr const char* kDeniedSyscalls = "denied_syscalls";     // {name: count}
inline constexpr const char* kObservedSyscalls = "observed_syscalls"; // {name: count}
inline constexpr const char* kSetupMs = "setup_ms";               // {step: ms}
inline constexpr const char* kLaunch = "launch";                  // "cold" | "warm"
inline constexpr const char* kWarmAgeMs = "warm_age_ms";          // warm only
inline constexpr const char* kInterrupted = "interrupted";        // bool: airlock got SIGINT/SIGTERM/SIGHUP
inline constexpr const char* kInterruptSignal = "interrupt_signal";  // optional: which one (when interrupted)
inline constexpr const char* kNetwork = "network";                // optional object (src/net)
inline constexpr const char* kHelpers = "helpers";                // optional [{name, uid, sandboxed, seccomp, ...}]
inline constexpr const char* kHelperName = "name";                // "slirp4netns", "pasta", "netns-setup"
inline constexpr const char* kHelperUid = "uid";                  // host uid it ran as
inline constexpr const char* kHelperSandboxed = "sandboxed";      // bool
inline constexpr const char* kHelperSeccomp = "seccomp";          // bool: a filter of its own
inline constexpr const char* kHelperNoNewPrivs = "no_new_privs";  // bool
inline constexpr const char* kHelperCapabilities = "capabilities";  // [string], effective after setup
inline constexpr const char* kHelperDetail = "detail";            // how it is confined, in words
inline constexpr const char* kMonitor = "monitor";                // optional {events, dropped, lost}
inline constexpr const char* kMonitorEvents = "events";
inline constexpr const char* kMonitorDropped = "dropped";
inline constexpr const char* kMonitorLost = "lost";
// optional {pids, memory, cpu?, tmpfs}: what bounds the sandbox's resources and what enforces each
// (docs/LIMITS.md). pids/memory/cpu: {limit, enforced_by}; limit is a number (pids: processes and
// threads, memory: bytes, cpu: CPUs) or null (unlimited, enforced_by "none"). tmpfs: one entry per
// tmpfs of the sandbox, {path, size_bytes, inodes, writable}, enforced by its size= and nr_inodes=.
inline constexpr const char* kBounds = "bounds";
inline constexpr const char* kBoundPids = "pids";
inline constexpr const char* kBoundMemory = "memory";
inline constexpr const char* kBoundCpu = "cpu";
inline constexpr const char* kBoundTmpfs = "tmpfs";
inline constexpr const char* kBoundLimit = "limit";
inline constexpr const char* kBoundEnforcedBy = "enforced_by";
inline constexpr const char* kTmpfsPath = "path";
inline constexpr const char* kTmpfsSizeBytes = "size_bytes";
inline constexpr const char* kTmpfsInodes = "inodes";
inline constexpr const char* kTmpfsWritable = "writable";
}  // namespace report_field

// Values of bounds.*.enforced_by. The cgroup ones name the control file that holds the limit; the
// rlimit ones are the fallbacks without a writable cgroup: RLIMIT_NPROC counts the processes of the
// sandbox's own user namespace (Linux 5.14+), RLIMIT_AS bounds each process's address space.
inline constexpr const char* kByCgroupV2Pids = "cgroup v2 pids.max";
inline constexpr const char* kByCgroupV1Pids = "cgroup v1 pids.max";
inline constexpr const char* kByRlimitNproc = "RLIMIT_NPROC";
inline constexpr const char* kByCgroupV2Memory = "cgroup v2 memory.max";
inline constexpr const char* kByCgroupV1Memory = "cgroup v1 memory.limit_in_bytes";
inline constexpr const char* kByRlimitAs = "RLIMIT_AS";
inline constexpr const char* kByCgroupV2Cpu = "cgroup v2 cpu.max";
inline constexpr const char* kByCgroupV1Cpu = "cgroup v1 cpu.cfs_quota_us";
inline constexpr const char* kByNone = "none";

// Values of "reason" (sandbox::OutcomeReasonName returns these).
inline constexpr const char* kReasonOk = "ok";
inline constexpr const char* kReasonSetupError = "setup-error";
inline constexpr const char* kReasonTimeout = "timeout";
inline constexpr const char* kReasonKilledByLimit = "killed-by-limit";
inline constexpr const char* kReasonSignaled = "signaled";
// Values of "launch".
inline constexpr const char* kLaunchCold = "cold";
inline constexpr const char* kLaunchWarm = "warm";

struct RunReportLayer {
  std::string name;
  bool engaged = false;
  std::string detail;
};

// A process airlock ran beside the sandbox (the user-mode network stack, the netns setup helper).
struct RunReportHelper {
  std::string name;
  int64_t uid = -1;
  bool sandboxed = false;
  bool seccomp = false;
  bool no_new_privs = false;
  std::vector<std::string> capabilities;
  std::string detail;
};

struct RunReportMonitor {
  uint64_t events = 0;
  uint64_t dropped = 0;
  uint64_t lost = 0;
};

struct RunReportLimit {
  std::optional<double> limit;  // nullopt = unlimited
  std::string enforced_by;      // one of kBy* above
};

struct RunReportTmpfs {
  std::string path;
  uint64_t size_bytes = 0;
  uint64_t inodes = 0;
  bool writable = true;
};

struct RunReportBounds {
  RunReportLimit pids;
  RunReportLimit memory;
  std::optional<RunReportLimit> cpu;
  std::vector<RunReportTmpfs> tmpfs;
};

// One report, typed. Optional fields are std::optional (absent in the JSON) or empty containers.
struct RunReport {
  int schema_version = kRunReportSchemaVersion;
  int status = 0;
  std::string reason;
  std::optional<int> child_exit_status;
  std::optional<int> child_signal;
  std::string error;
  double wall_seconds = 0;
  double user_cpu_seconds = 0;
  double system_cpu_seconds = 0;
  std::optional<uint64_t> peak_memory_bytes;
  std::vector<RunReportLayer> layers;
  std::vector<std::string> not_enforced;
  std::vector<std::string> weakenings;
  std::map<std::string, uint64_t> denied_syscalls;
  std::map<std::string, uint64_t> observed_syscalls;
  std::map<std::string, double> setup_ms;
  std::string launch = kLaunchCold;
  std::optional<double> warm_age_ms;
  // airlock received SIGINT, SIGTERM or SIGHUP during the run: forwarded to the command, or with
  // `--on-interrupt kill` the sandbox was killed (reason "signaled", status 128+N). Absent in reports
  // of older airlock versions: false.
  bool interrupted = false;
  std::optional<int> interrupt_signal;
  std::optional<RunReportMonitor> monitor;
  nlohmann::json network;  // null when absent; its inside belongs to src/net (docs/EVENTS.md)
  std::vector<RunReportHelper> helpers;
  std::optional<RunReportBounds> bounds;
};

// Strings are valid UTF-8: bytes from the sandbox that were not are written as the text \xNN
// (core/json_text.h), so a reader never sees invalid UTF-8 and needs nothing special for it.
//
// Typed reader. Errors name the field: "run report: field 'status': missing" / "...: expected an
// integer, got string" / "schema_version 7 is newer than this reader (1)".
Result<RunReport> ParseRunReport(const nlohmann::json& j);
Result<RunReport> ParseRunReport(std::string_view text);
// Reads and parses the report file `path` (bounded to 16 MiB).
Result<RunReport> ReadRunReportFile(const std::string& path);

// [{name, engaged, detail}...] as in the report's "layers" (also the pool's hand-over info).
Result<std::vector<RunReportLayer>> ParseLayers(const nlohmann::json& layers);
// The report's "bounds" object (also the pool's hand-over info).
Result<RunReportBounds> ParseBounds(const nlohmann::json& bounds);

}  // namespace airlock::runapi
