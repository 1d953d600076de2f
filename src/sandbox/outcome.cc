#include "sandbox/outcome.h"

#include <cmath>

#include "runapi/run_report.h"

namespace airlock {

const char* OutcomeReasonName(OutcomeReason r) {
  switch (r) {
    case OutcomeReason::kOk: return runapi::kReasonOk;
    case OutcomeReason::kSetupError: return runapi::kReasonSetupError;
    case OutcomeReason::kTimeout: return runapi::kReasonTimeout;
    case OutcomeReason::kKilledByLimit: return runapi::kReasonKilledByLimit;
    case OutcomeReason::kSignaled: return runapi::kReasonSignaled;
  }
  return "unknown";
}

nlohmann::json LayersToJson(const std::vector<LayerStatus>& layers) {
  namespace f = runapi::report_field;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& l : layers) out.push_back({{f::kLayerName, l.name}, {f::kLayerEngaged, l.engaged}, {f::kLayerDetail, l.detail}});
  return out;
}

nlohmann::json BoundsToJson(const RunBounds& b) {
  namespace f = runapi::report_field;
  auto limit = [](const runapi::RunReportLimit& l) {
    nlohmann::json v = nullptr;  // unlimited
    if (l.limit) v = *l.limit == std::floor(*l.limit) ? nlohmann::json(static_cast<uint64_t>(*l.limit)) : nlohmann::json(*l.limit);
    return nlohmann::json{{f::kBoundLimit, v}, {f::kBoundEnforcedBy, l.enforced_by}};
  };
  nlohmann::json j = {{f::kBoundPids, limit(b.pids)}, {f::kBoundMemory, limit(b.memory)}};
  if (b.cpu) j[f::kBoundCpu] = limit(*b.cpu);
  nlohmann::json tmpfs = nlohmann::json::array();
  for (const auto& t : b.tmpfs) {
    tmpfs.push_back({{f::kTmpfsPath, t.path}, {f::kTmpfsSizeBytes, t.size_bytes}, {f::kTmpfsInodes, t.inodes},
                     {f::kTmpfsWritable, t.writable}});
  }
  j[f::kBoundTmpfs] = std::move(tmpfs);
  return j;
}

// The report's fields and their names are described once, in runapi/run_report.h (and published as
// docs/schema/run-report.schema.json); this writer and the typed reader share them.
nlohmann::json OutcomeToJson(const RunOutcome& o, std::string_view command, const ReportClock& clock) {
  namespace f = runapi::report_field;
  nlohmann::json j;
  j[f::kSchemaVersion] = runapi::kRunReportSchemaVersion;
  j[f::kStatus] = o.exit_code;
  j[f::kReason] = OutcomeReasonName(o.reason);
  if (o.child_exit_status) j[f::kChildExitStatus] = *o.child_exit_status;
  if (o.child_signal) j[f::kChildSignal] = *o.child_signal;
  if (!o.error.empty()) j[f::kError] = o.error;
  j[f::kWallSeconds] = o.wall_seconds;
  j[f::kCpuSeconds] = {{f::kCpuUser, o.user_cpu_seconds}, {f::kCpuSystem, o.system_cpu_seconds}};
  j[f::kPeakMemoryBytes] = o.peak_memory_bytes ? nlohmann::json(*o.peak_memory_bytes) : nlohmann::json(nullptr);
  j[f::kLayers] = LayersToJson(o.layers);
  j[f::kNotEnforced] = o.not_enforced;
  j[f::kWeakenings] = o.weakenings;
  j[f::kDeniedSyscalls] = o.denied_syscalls;
  j[f::kObservedSyscalls] = o.observed_syscalls;
  j[f::kSetupMs] = o.setup_ms;
  j[f::kLaunch] = o.launch;
  j[f::kInterrupted] = o.interrupt_signal != 0;
  if (o.interrupt_signal != 0) j[f::kInterruptSignal] = o.interrupt_signal;
  if (o.launch == runapi::kLaunchWarm) j[f::kWarmAgeMs] = o.warm_age_ms;
  if (!o.network.is_null()) j[f::kNetwork] = o.network;
  if (!o.helpers.empty()) {
    nlohmann::json hs = nlohmann::json::array();
    for (const auto& h : o.helpers) {
      hs.push_back({{f::kHelperName, h.name},           {f::kHelperUid, h.uid},
                    {f::kHelperSandboxed, h.sandboxed}, {f::kHelperSeccomp, h.seccomp},
                    {f::kHelperNoNewPrivs, h.no_new_privs}, {f::kHelperCapabilities, h.capabilities},
                    {f::kHelperDetail, h.detail}});
    }
    j[f::kHelpers] = hs;
  }
  if (o.bounds) j[f::kBounds] = BoundsToJson(*o.bounds);
  if (o.monitored) {
    j[f::kMonitor] = {{f::kMonitorEvents, o.monitor_events}, {f::kMonitorDropped, o.monitor_dropped},
                      {f::kMonitorLost, o.monitor_lost}};
  }
  StampReportEnvelope(j, command, clock);
  return j;
}

}  // namespace airlock
