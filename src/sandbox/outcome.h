// The typed result of one sandboxed run, and airlock's own exit codes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runapi/run_report.h"

namespace airlock {

// airlock's own exit codes (the child's status is passed through otherwise; signals as 128+N).
enum ExitCode : int {
  kExitUsage = 121,           // bad command line
  kExitProfile = 122,         // unknown, malformed or invalid profile
  kExitUnsupported = 123,     // a required kernel feature or layer is unavailable
  kExitTimeout = 124,         // --timeout expired; the whole sandbox was killed
  kExitSetup = 125,           // sandbox setup failed (mount, namespaces, seccomp, ...)
  kExitNotExecutable = 126,   // the command exists but cannot be executed
  kExitNotFound = 127,        // the command was not found inside the sandbox
};

enum class OutcomeReason { kOk, kSetupError, kTimeout, kKilledByLimit, kSignaled };
const char* OutcomeReasonName(OutcomeReason r);

struct LayerStatus {
  std::string name;     // "user-namespace", "seccomp", "landlock", "cgroup-memory", ...
  bool engaged = false;
  std::string detail;   // "ABI 6", "v1", "RLIMIT_AS fallback", why not ...
};

// A process airlock ran beside the sandbox (report field "helpers") and what bounds the sandbox's
// resources with what enforces each bound (report field "bounds", docs/LIMITS.md): the report's own
// types, described once in runapi/run_report.h.
using HelperStatus = runapi::RunReportHelper;
using RunBounds = runapi::RunReportBounds;

struct RunOutcome {
  OutcomeReason reason = OutcomeReason::kOk;
  int exit_code = 0;        // what airlock exits with
  std::optional<int> child_exit_status;
  std::optional<int> child_signal;
  std::string error;        // one line for setup errors
  double wall_seconds = 0;
  double user_cpu_seconds = 0;
  double system_cpu_seconds = 0;
  std::optional<uint64_t> peak_memory_bytes;
  std::vector<LayerStatus> layers;
  std::vector<std::string> not_enforced;   // what best-effort layers could not do
  std::vector<std::string> weakenings;     // explicit opt-ins that weaken isolation
  std::map<std::string, uint64_t> denied_syscalls;
  std::map<std::string, uint64_t> observed_syscalls;  // allowed but noteworthy: memfd_create, fd execveat
  std::map<std::string, double> setup_ms;  // per-step timings (parent side)
  std::string launch = "cold";             // "cold" or "warm" (a sandbox prepared by `airlock pool`)
  double warm_age_ms = 0;                  // warm: how long the sandbox waited in the pool
  bool monitored = false;
  uint64_t monitor_events = 0;
  uint64_t monitor_dropped = 0;
  uint64_t monitor_lost = 0;  // notifications whose process died before it was answered
  int interrupt_signal = 0;   // SIGINT/SIGTERM/SIGHUP airlock received during the run (0: not interrupted)
  nlohmann::json network;     // sinkhole counts and names / resolved allow-list (src/net); null = none
  std::vector<HelperStatus> helpers;
  std::optional<RunBounds> bounds;  // cold (sandbox.cc) and warm (the pool's, pool_client.cc) runs
};

// The run report: the envelope (core/report_envelope.h; `command` "run" or "box run", `clock` when
// airlock started the run) and the body of runapi/run_report.h.
nlohmann::json OutcomeToJson(const RunOutcome& outcome, std::string_view command = "run", const ReportClock& clock = {});
// The report's "bounds" object.
nlohmann::json BoundsToJson(const RunBounds& bounds);
// [{name, engaged, detail}...], as in the report (also what `airlock pool` tells its clients).
nlohmann::json LayersToJson(const std::vector<LayerStatus>& layers);

}  // namespace airlock
