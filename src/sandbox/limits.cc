#include "sandbox/limits.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/log.h"
#include "runapi/run_report.h"

namespace airlock {
namespace {

bool Contains(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// The enforcer of one limit: the cgroup's control file, the rlimit fallback, or "none".
std::string Enforcer(const Cgroup& cgroup, const std::vector<std::string>& fallback, const char* controller,
                     const char* v2, const char* v1, const char* rlimit) {
  std::string on = cgroup.EnforcedOn(controller);
  if (on == "v2") return v2;
  if (on == "v1") return v1;
  if (rlimit != nullptr && Contains(fallback, controller)) return rlimit;
  return runapi::kByNone;
}

// A limit the cgroup does not enforce: the rlimit fallback (recorded in run) or an error. Explicit
// limits (not the built-in defaults) also warn on stderr: the fallback is weaker than a cgroup.
Status FallBack(const Limits& lim, const char* what, const char* rlimit, bool is_default, PreparedRun& run,
                std::vector<std::string>& fallback) {
  if (rlimit == nullptr || lim.cgroup == Requirement::kRequired) {
    return MakeError(fmt::format("the {} limit needs a writable cgroup {} controller, which this user does not have "
                                 "(run as root, delegate a cgroup subtree: `airlock check` says how{})",
                                 what, what,
                                 rlimit ? fmt::format(", or set limits.cgroup = \"best-effort\" to fall back to {}", rlimit)
                                        : std::string(", or drop the CPU share (--cpu)")));
  }
  fallback.push_back(what);
  const char* why = lim.cgroup == Requirement::kDisabled ? "limits.cgroup = \"disabled\"" : "no writable cgroup controller";
  run.layers.push_back({std::string("cgroup-") + what, false, std::string(rlimit) + " fallback"});
  std::string msg = fmt::format("{} limit enforced with {} instead of a cgroup ({}; `airlock check` says how to get one)",
                                what, rlimit, why);
  run.not_enforced.push_back(msg);
  if (is_default) {
    LogDebug("{}", msg);
  } else {
    LogWarning("{}", msg);
  }
  return Ok();
}

}  // namespace

Result<Cgroup> SetUpLimitsFromParent(const Limits& lim, PreparedRun& run, const std::string& hint) {
  Cgroup cgroup;
  std::vector<std::string> fallback;
  const bool any = lim.memory_bytes || lim.pids || lim.cpus;
  if (any && lim.cgroup != Requirement::kDisabled) {
    auto cg = CreateCgroupFromParent(lim, hint);
    if (!cg) return std::unexpected(std::move(cg.error()).WithContext("cgroup"));
    cgroup = std::move(*cg);
  }
  struct Wanted {
    bool set;
    const char* what;
    const char* rlimit;
    bool is_default;
  };
  const Wanted wanted[] = {
      {lim.memory_bytes.has_value(), "memory", "RLIMIT_AS", lim.memory_bytes == DefaultMemoryLimitBytes()},
      {lim.pids.has_value(), "pids", "RLIMIT_NPROC", lim.pids == kDefaultPidsLimit},
      {lim.cpus.has_value(), "cpu", nullptr, false},
  };
  for (const Wanted& w : wanted) {
    if (!w.set) continue;
    if (Contains(cgroup.enforced(), w.what)) {
      run.layers.push_back({std::string("cgroup-") + w.what, true, cgroup.version()});
      continue;
    }
    if (Status s = FallBack(lim, w.what, w.rlimit, w.is_default, run, fallback); !s) return std::unexpected(s.error());
  }
  auto rl = PrepareRlimits(lim, fallback);
  if (!rl) return std::unexpected(std::move(rl.error()).WithContext("rlimits"));
  run.rlimits = std::move(*rl);
  run.fallback_limits = fallback;
  run.bounds = DescribeBounds(lim, cgroup, fallback, run.mounts);
  if (!lim.memory_bytes) run.weakenings.push_back("limits.memory = unlimited: no memory limit");
  if (!lim.pids) run.weakenings.push_back("limits.pids = unlimited: no process limit");
  return cgroup;
}

RunBounds DescribeBounds(const Limits& lim, const Cgroup& cgroup, const std::vector<std::string>& fallback,
                         const MountPlan& mounts) {
  namespace r = runapi;
  RunBounds b;
  if (lim.pids) b.pids.limit = static_cast<double>(*lim.pids);
  b.pids.enforced_by = lim.pids ? Enforcer(cgroup, fallback, "pids", r::kByCgroupV2Pids, r::kByCgroupV1Pids, r::kByRlimitNproc)
                                : r::kByNone;
  if (lim.memory_bytes) b.memory.limit = static_cast<double>(*lim.memory_bytes);
  b.memory.enforced_by = lim.memory_bytes ? Enforcer(cgroup, fallback, "memory", r::kByCgroupV2Memory,
                                                     r::kByCgroupV1Memory, r::kByRlimitAs)
                                          : r::kByNone;
  if (lim.cpus) b.cpu = runapi::RunReportLimit{*lim.cpus, Enforcer(cgroup, fallback, "cpu", r::kByCgroupV2Cpu, r::kByCgroupV1Cpu, nullptr)};
  for (const TmpfsBound& t : mounts.tmpfs) b.tmpfs.push_back({t.dst, t.size_bytes, t.inodes, t.writable});
  return b;
}

}  // namespace airlock
