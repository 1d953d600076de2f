// Resource limits through cgroups: v2 where the needed controllers are enabled in the unified
// hierarchy, v1 per controller otherwise (this host is a v1/v2 hybrid). Also works unprivileged where
// a cgroup subtree is delegated; otherwise reports that it cannot.
//
// Contract (parent side only; the child never touches cgroupfs):
//  - CreateCgroupFromParent() makes one cgroup per run (named airlock-<pid>-<n>) under the caller's own
//    cgroup in each needed hierarchy, writes the limits, and returns a Cgroup that removes it again on
//    destruction (killing anything left inside first).
//  - Attach(pid) moves the sandbox init in before it is released to run the payload.
//  - GarbageCollectStaleCgroups() removes empty airlock-* cgroups whose creator pid is dead (left
//    behind by a SIGKILLed airlock).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"

namespace airlock {

struct CgroupStats {
  std::optional<uint64_t> memory_peak_bytes;
  std::optional<uint64_t> cpu_usage_ns;
  bool oom_killed = false;        // the memory limit killed something
  bool pids_limit_hit = false;    // fork failed because of the pids limit
};

class Cgroup {
 public:
  Cgroup() = default;
  Cgroup(Cgroup&&) noexcept;
  Cgroup& operator=(Cgroup&&) noexcept;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  ~Cgroup();

  bool active() const { return !paths_.empty(); }
  const std::string& version() const { return version_; }  // "v2", "v1" or "none"
  // Which limits are enforced by the cgroup ("memory", "pids", "cpu").
  const std::vector<std::string>& enforced() const { return enforced_; }

  Status Attach(pid_t pid);
  Status KillAll();  // SIGKILL everything inside (cgroup.kill on v2, freeze+kill on v1)
  CgroupStats Stats() const;
  Status Remove();

 private:
  friend Result<Cgroup> CreateCgroupFromParent(const Limits& limits, const std::string& name_hint);
  std::string version_ = "none";
  std::vector<std::string> paths_;  // one per hierarchy (v1) or one (v2)
  std::vector<std::string> enforced_;
};

// Creates the cgroup for the limits that are set. Limits that could not be placed in a cgroup are not
// an error here: the caller looks at enforced() and falls back to rlimits / refuses per policy.
Result<Cgroup> CreateCgroupFromParent(const Limits& limits, const std::string& name_hint);

// Human description of cgroup support on this host (for `airlock check`).
struct CgroupSupport {
  bool v2_mounted = false;
  std::string v2_path;
  std::vector<std::string> v2_controllers;   // enabled in our cgroup's subtree_control or available
  std::vector<std::string> v1_controllers;   // mounted v1 hierarchies
  std::vector<std::string> writable;         // controllers we can create children in (as this user)
};
CgroupSupport ProbeCgroupSupport();

void GarbageCollectStaleCgroups();

}  // namespace airlock
