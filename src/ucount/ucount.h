// Per-user counters (kernel/ucount.c): how much of its owner's host-wide quotas a sandbox may take.
//
// The kernel charges inotify instances and watches, fanotify groups and marks, namespaces of every
// kind, POSIX message queue bytes, pending signals and locked shared memory to (user namespace, uid)
// pairs, and checks every level from the sandbox's own user namespace up to the initial one. The
// level above the sandbox is its user namespace's OWNER in the initial namespace (userns.h makes that
// the outside uid, never root), whose limits are the host's (fs.inotify.max_user_instances, 128 by
// default). Without a bound of its own, one sandbox could take all of it, and every other process of
// that uid (and every other sandbox) would fail to create one.
//
// So each sandbox gets its own share:
//  - the counters with a knob in /proc/sys/user/ (max_inotify_instances, max_*_namespaces, ...) are
//    written in the sandbox's user namespace by init, which holds CAP_SYS_RESOURCE there (the kernel
//    lets only such a process write its own namespace's knobs; the payload, without capabilities,
//    sees them read-only). The mount layer writes them through the sandbox's fresh /proc before
//    /proc/sys is made read-only (MountPlan::proc_sys_writes).
//  - the counters bounded by an rlimit (RLIMIT_MSGQUEUE, RLIMIT_SIGPENDING, RLIMIT_MEMLOCK) are
//    lowered, soft and hard, in the payload (LowerUcountRlimitsInChild).
// What no per-user-namespace limit bounds (pipe buffers: fs.pipe-user-pages-*, epoll watches:
// fs.epoll.max_user_watches, key quotas: kernel.keys.maxkeys) is per host uid: docs/LIMITS.md.
//
// Contract: PlanUcountLimits runs in the parent (reads the host's limits); the InChild function is
// allocation-free.
#pragma once

#include <sys/resource.h>

#include <string>
#include <vector>

namespace airlock {

struct UcountSysctl {
  std::string name;   // "max_inotify_instances" (under /proc/sys/user/)
  std::string value;  // "32"
};

struct UcountRlimit {
  int resource = 0;      // RLIMIT_MSGQUEUE, ...
  rlim_t share = 0;      // the sandbox's bound (soft and hard); the payload's limit is lowered to it
};

struct UcountPlan {
  std::vector<UcountSysctl> sysctls;  // knobs missing from this kernel are skipped (no such counter)
  std::vector<UcountRlimit> rlimits;
};

// What the sandbox may nest and which namespaces init itself creates after the knobs are written.
struct UcountNeeds {
  bool nesting = false;        // the payload may create namespaces (seccomp @namespaces, or no seccomp)
  bool fanotify = false;       // the payload may call fanotify_init
  bool time_namespace = false; // init unshares a time namespace after the knobs are written
  bool detached_mounts = false;  // the payload may call open_tree/fsmount: each detached tree is an
                                 // (anonymous) mount namespace for these counters
};

// Shares, documented in docs/LIMITS.md ("Per-user counters"):
inline constexpr long kInotifyInstances = 32;   // or a quarter of the host's limit when that is lower
inline constexpr long kInotifyWatches = 8192;   // likewise
inline constexpr long kNestedNamespaces = 16;   // of each kind, when nesting is allowed (else 0)
inline constexpr long kFanotifyGroups = 16;     // when fanotify_init is allowed (else 0)
inline constexpr long kFanotifyMarks = 8192;
inline constexpr int kRlimitShareDivisor = 4;   // rlimit-bounded counters: a quarter of the caller's soft limit

UcountPlan PlanUcountLimits(const UcountNeeds& needs);

// Payload side: lowers each rlimit of plan.rlimits to its share (never raises one). 0 or -errno.
int LowerUcountRlimitsInChild(const UcountPlan& plan);

}  // namespace airlock
