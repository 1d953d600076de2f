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
  std::vector<uint16_t> bind_ports;     // allowed TCP bind ports (policy.net.listen)
  std::vector<std::string> not_enforced;  // human descriptions of what the kernel could not do
};

// `mounts` is the final mount list; writable mounts get write rights. The built-in skeleton's rules
// ("/" READ_DIR, /tmp, /dev/shm and policy.home all rights, /dev read+write file (+IOCTL_DEV), /proc
// and /etc read) are added here, so the mount layer may or may not include those entries.
// Rights per mount kind: kRoBind/kFile/kDir -> READ_FILE|READ_DIR|EXECUTE; kBind/kTmpfs -> every
// handled right; kDevBind -> READ_FILE|WRITE_FILE|IOCTL_DEV; kSymlink -> no rule. Rules on the same
// path are merged (OR). Rights the ABI lacks are dropped and described in not_enforced.
// Network (ABI >= 4, net mode none/user): TCP bind is handled and allowed only to policy.net.listen's
// ports (in the sandbox's own network namespace); TCP connect is
// handled with policy.net.allow's ports as the allow-list, except in user mode with an empty allow
// list (= any destination) or an entry without a single numeric port, where connect is not handled.
Result<LandlockPlan> PrepareLandlockFromParent(const Policy& policy, const std::vector<MountEntry>& mounts);
// The same for a given ABI instead of the kernel's (tests, `--explain` for another kernel).
Result<LandlockPlan> PrepareLandlockForAbi(const Policy& policy, const std::vector<MountEntry>& mounts, int abi);

// Returns 0 or -errno. Allocation-free. A rule path that cannot be opened (ENOENT, ENOTDIR, EACCES,
// ELOOP) is skipped (that only removes rights);
// directory-only rights are masked out for a rule whose path is not a directory. Does not set
// PR_SET_NO_NEW_PRIVS (the caller does; without it and without CAP_SYS_ADMIN restrict fails EPERM).
// A plan with enabled == false is a no-op returning 0.
int ApplyLandlockInChild(const LandlockPlan& plan);
// ApplyLandlockInChild in two steps: the ruleset (its fd, close-on-exec; -errno), built with the same
// rules, then landlock_restrict_self with it (0 or -errno). `airlock exec` (sandbox/child.h): init builds
// the ruleset once before the payload starts, so every exec'd process is restricted by the ruleset of
// the pristine tree, whatever the sandbox changed since. Allocation-free. Needs plan.enabled.
int BuildLandlockRulesetInChild(const LandlockPlan& plan);
int RestrictLandlockInChild(int ruleset);

// Rights sets used above (already limited to an ABI by PrepareLandlockFromParent).
uint64_t LandlockHandledFsForAbi(int abi);
uint64_t LandlockReadRights();   // READ_FILE | READ_DIR | EXECUTE

}  // namespace airlock
