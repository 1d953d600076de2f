// Resource limits through cgroups: v2 where the needed controllers are enabled in the unified
// hierarchy, v1 per controller otherwise (this host is a v1/v2 hybrid). Also works unprivileged where
// a cgroup subtree is delegated; otherwise reports that it cannot.
//
// Contract (parent side, except JoinCgroupInChild):
//  - CreateCgroupFromParent() makes one cgroup per run (named airlock-<pid>-s<start>-<n>[-hint]) under
//    the caller's own cgroup in each needed hierarchy, writes the limits, takes the lease (below) and
//    returns a Cgroup that removes it again on destruction (killing anything left inside first).
//  - Joining without a migration by the parent: OpenForJoin() (below); the launcher clones init into
//    the v2 directory and init writes "0" into each v1 `tasks` file (JoinCgroupInChild). Attach(pid),
//    a migration from outside, remains for kernels without CLONE_INTO_CGROUP.
//  - The lease: every directory is held open with flock(LOCK_SH) by whoever uses the cgroup (the
//    creator; a pool passes the descriptors on to the client it serves, SCM_RIGHTS). Remove() needs
//    an exclusive lock (nobody else uses it) and GarbageCollectStaleCgroups() never touches a held
//    directory, even when its creator is dead (a run served by a pool that was stopped).
//  - Adopt() builds a non-owning Cgroup from leased descriptors (the pool's client): it kills and
//    reads counters; Remove() only lets go, unless the creator is dead (then it removes, as an owner).
//  - Not thread-safe per object; distinct Cgroup objects may be used from different threads.
// Hierarchy discovery and control-file helpers are in cgroup_fs.h; docs/LIMITS.md has the full table.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"
#include "policy/policy.h"

namespace airlock {

struct CgroupStats {
  std::optional<uint64_t> memory_peak_bytes;
  std::optional<uint64_t> cpu_usage_ns;
  bool oom_killed = false;        // the memory limit killed something
  bool oom_counted = false;       // the kernel counts OOM kills here (memory.events / oom_control oom_kill)
  bool pids_limit_hit = false;    // fork failed because of the pids limit
};

struct CgroupOptions {
  // Make a controller-less v2 directory for cgroup.kill and cpu.stat when all limits live in v1 and the
  // unified hierarchy is writable (hybrid hosts). false: use v1 freezer + cpuacct instead.
  bool v2_tracking = true;
};

// Shape of a cgroup as one process describes it to another (with the lease descriptors, in node
// order): version, enforced limits, the controllers of each directory.
struct CgroupShape {
  std::string version;
  std::vector<std::string> enforced;
  std::vector<std::vector<std::string>> node_controllers;
  std::string ToText() const;                              // "version\nenforced...\nnode ...\n"
  static Result<CgroupShape> FromText(const std::string& text);  // bounded; rejects anything odd
};

class Cgroup {
 public:
  Cgroup() = default;
  Cgroup(Cgroup&&) noexcept;
  Cgroup& operator=(Cgroup&&) noexcept;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  ~Cgroup();

  bool active() const { return !nodes_.empty(); }
  // "v2", "v1", "v1+v2" (limits split over both on a hybrid host) or "none".
  const std::string& version() const { return version_; }
  // The cgroup directories made for this run (one per hierarchy used).
  std::vector<std::string> paths() const;
  // Which limits are enforced by the cgroup ("memory", "pids", "cpu").
  const std::vector<std::string>& enforced() const { return enforced_; }
  // "v2" or "v1": the hierarchy whose control files hold `controller`'s limit; "" when not enforced.
  std::string EnforcedOn(const std::string& controller) const;

  // Writes pid into cgroup.procs of every directory; fails on the first one that refuses.
  Status Attach(pid_t pid);

  // What a cold launch needs to put its child in this cgroup without a migration by another process
  // (writing another pid to cgroup.procs takes the kernel's global threadgroup lock for writing and
  // waits for an RCU grace period: 1-26 ms per run, docs/PERFORMANCE.md):
  //  - v1_tasks: each v1 directory's `tasks`, opened for writing (O_CLOEXEC) by the parent; the
  //    single-threaded child writes "0" there itself (JoinCgroupInChild), which moves only the
  //    caller and skips that lock. The parent's credentials, recorded at open, authorise the write.
  //  - v2_dir: the v2 directory (O_DIRECTORY|O_CLOEXEC) for clone3's CLONE_INTO_CGROUP.
  struct JoinFds {
    std::vector<UniqueFd> v1_tasks;
    UniqueFd v2_dir;
  };
  Result<JoinFds> OpenForJoin() const;

  // The lease descriptors, one per directory in paths() order (empty after DropLease()).
  std::vector<int> lease_fds() const;
  CgroupShape shape() const;
  // Closes our lease (another process holds it now, e.g. after passing lease_fds()).
  void DropLease() { leases_.clear(); }
  // A non-owning Cgroup from received lease descriptors (one per directory, in shape order): paths
  // from the descriptors themselves, v2 or v1 from their filesystem. Refuses a descriptor that is not
  // an airlock-* cgroup directory.
  static Result<Cgroup> Adopt(std::vector<UniqueFd> leases, const CgroupShape& shape);
  // SIGKILL everything inside: cgroup.kill when a v2 directory exists (one is made for tracking even
  // when all limits live in v1 and the unified hierarchy is writable), else freeze (v1 freezer when
  // available) + SIGKILL each pid in cgroup.procs + thaw, repeated until empty (bounded, ~2 s).
  // Exited-but-unreaped children do not count as inside.
  Status KillAll();
  // Reads counters; fields stay empty when the files do not exist.
  CgroupStats Stats() const;
  // Owner: takes the lease exclusively (EBUSY, nothing removed, while another process holds it), then
  // rmdirs every directory; one still populated gets KillAll() and retries (briefly, on EBUSY).
  // Adopted: lets go of the lease (the owner removes it), or removes like an owner when the creator is
  // dead. Idempotent.
  Status Remove();

  struct Node {
    std::string path;
    bool v2 = false;
    std::vector<std::string> controllers;  // controllers this run uses there (may be empty: tracking)
  };

 private:
  friend Result<Cgroup> CreateCgroupFromParent(const Limits& limits, const std::string& name_hint,
                                               const CgroupOptions& options);
  Status TakeExclusiveLease();
  void Forget();

  std::string version_ = "none";
  std::vector<Node> nodes_;  // one per hierarchy used
  std::vector<std::string> enforced_;
  std::vector<UniqueFd> leases_;  // flock(LOCK_SH) on each node's directory, same order
  bool owner_ = true;             // false: Adopt()ed
};

// Creates the cgroup for the limits that are set. Limits that could not be placed in a cgroup are not
// an error here: the caller looks at enforced() and falls back to rlimits / refuses per policy.
// Per limit: v2 when the controller is in our cgroup's cgroup.controllers and is (or can be) enabled in
// its cgroup.subtree_control; else the v1 hierarchy of that controller. Directory name:
// airlock-<pid>-<counter>[-<hint>] (hint reduced to [A-Za-z0-9_.], at most 32 chars). With no limit
// set, returns an inactive Cgroup. Also creates a cpuacct (v1) or tracking v2 directory for CPU
// accounting and a freezer (v1) directory for KillAll when those hierarchies are writable.
Result<Cgroup> CreateCgroupFromParent(const Limits& limits, const std::string& name_hint,
                                     const CgroupOptions& options = {});

// Child side, allocation-free: writes "0" (this thread) into each `tasks` descriptor of
// Cgroup::OpenForJoin. Must run while the process is single-threaded. Returns 0 or -errno.
int JoinCgroupInChild(const int* v1_tasks, size_t n);

// Human description of cgroup support on this host (for `airlock check`).
struct CgroupSupport {
  bool v2_mounted = false;
  std::string v2_path;
  std::vector<std::string> v2_controllers;   // enabled in our cgroup's subtree_control or available
  std::vector<std::string> v1_controllers;   // mounted v1 hierarchies
  std::vector<std::string> writable;         // controllers we can create children in (as this user)
};
CgroupSupport ProbeCgroupSupport();

// Looks in our own cgroup of every hierarchy for airlock-<pid>-* directories whose <pid> is dead and
// that nobody holds a lease on, SIGKILLs what is left inside and removes them. Returns how many were
// removed. Best effort: never fails, logs at debug level. Never touches directories of live creators
// or leased ones.
int GarbageCollectStaleCgroups();

}  // namespace airlock
