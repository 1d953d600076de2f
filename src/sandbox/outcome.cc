#include "sandbox/outcome.h"

namespace airlock {

const char* OutcomeReasonName(OutcomeReason r) {
  switch (r) {
    case OutcomeReason::kOk: return "ok";
    case OutcomeReason::kSetupError: return "setup-error";
    case OutcomeReason::kTimeout: return "timeout";
    case OutcomeReason::kKilledByLimit: return "killed-by-limit";
    case OutcomeReason::kSignaled: return "signaled";
  }
  return "unknown";
}

nlohmann::json LayersToJson(const std::vector<LayerStatus>& layers) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& l : layers) out.push_back({{"name", l.name}, {"engaged", l.engaged}, {"detail", l.detail}});
  return out;
}

nlohmann::json OutcomeToJson(const RunOutcome& o) {
  nlohmann::json j;
  j["status"] = o.exit_code;
  j["reason"] = OutcomeReasonName(o.reason);
  if (o.child_exit_status) j["child_exit_status"] = *o.child_exit_status;
  if (o.child_signal) j["child_signal"] = *o.child_signal;
  if (!o.error.empty()) j["error"] = o.error;
  j["wall_seconds"] = o.wall_seconds;
  j["cpu_seconds"] = {{"user", o.user_cpu_seconds}, {"system", o.system_cpu_seconds}};
  j["peak_memory_bytes"] = o.peak_memory_bytes ? nlohmann::json(*o.peak_memory_bytes) : nlohmann::json(nullptr);
  j["layers"] = LayersToJson(o.layers);
  j["not_enforced"] = o.not_enforced;
  j["weakenings"] = o.weakenings;
  j["denied_syscalls"] = o.denied_syscalls;
  j["observed_syscalls"] = o.observed_syscalls;
  j["setup_ms"] = o.setup_ms;
  j["launch"] = o.launch;
  if (o.launch == "warm") j["warm_age_ms"] = o.warm_age_ms;
  if (!o.network.is_null()) j["network"] = o.network;
  if (o.monitored) {
    j["monitor"] = {{"events", o.monitor_events}, {"dropped", o.monitor_dropped}, {"lost", o.monitor_lost}};
  }
  return j;
}

}  // namespace airlock
