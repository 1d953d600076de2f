// Landlock: filesystem rules derived from the mount plan, TCP rules from the network policy, and
// ABI 6 scopes, negotiated against the kernel's ABI version (defence in depth behind mount namespaces).
//
// Contract:
//  - PrepareLandlockFromParent() runs in the parent: probes the ABI, decides which rights can be
//    handled, and returns a LandlockPlan. With requirement kRequired and an ABI below min_abi it fails.
//  - ApplyLandlockInChild() runs in the sandbox child after pivot_root, before seccomp. It opens each
//    rule path with O_PATH relative to the new root, builds the ruleset and restricts self.
//    Allocation-free (paths are preformatted in the plan).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"

namespace airlock {

int LandlockAbiVersion();  // 0 if unsupported/disabled

struct LandlockRule {
  std::string path;      // path inside the sandbox (after pivot_root)
  uint64_t access = 0;   // LANDLOCK_ACCESS_FS_* allowed beneath it
};

struct LandlockPlan {
  bool enabled = false;
  int abi = 0;
  uint64_t handled_fs = 0;
  uint64_t handled_net = 0;
  uint64_t scoped = 0;
  std::vector<LandlockRule> rules;
  std::vector<uint16_t> connect_ports;  // allowed TCP connect ports (empty + handled = none)
  std::vector<std::string> not_enforced;  // human descriptions of what the kernel could not do
};

// `mounts` is the final mount list (including the built-in skeleton); writable mounts get write rights.
Result<LandlockPlan> PrepareLandlockFromParent(const Policy& policy, const std::vector<MountEntry>& mounts);

// Returns 0 or -errno. Allocation-free.
int ApplyLandlockInChild(const LandlockPlan& plan);

}  // namespace airlock
