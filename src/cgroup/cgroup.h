// Resource limits through cgroups: v2 where the needed controllers are enabled in the unified
// hierarchy, v1 per controller otherwise (this host is a v1/v2 hybrid). Also works unprivileged where
// a cgroup subtree is delegated; otherwise reports that it cannot.
//
// Contract (parent side, except JoinCgroupInChild):
//  - CreateCgroupFromParent() makes one cgroup per run (named airlock-<pid>-s<start>-<n>[-hint]) under
//    the caller's own cgroup in each needed hierarchy, writes the limits, takes the lease (below) and
//    returns a Cgroup that removes it again on destruction (killing anything left inside first).
//  - Joining without a migration by the parent (a v1 `cgroup.procs` write of another process takes
//    the global cgroup_threadgroup_rwsem for writing and waits for an RCU grace period, 1-26 ms here):
//    PrepareJoin() opens, before clone, what the child needs; the launcher clones init straight into
//    the v2 directory (clone3 CLONE_INTO_CGROUP); JoinCgroupInChild() writes "0" to each v1 `tasks`
//    file (moves only the calling, single-threaded init: no threadgroup lock), and to the v2
//    `cgroup.procs` only when the clone could not place it. The payload, forked later, inherits all.
//    Attach(pid) (a migration from outside) is still there for callers that cannot do this.
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
  bool pids_limit_hit = false;    // fork failed because of the pids limit
};

struct CgroupOptions {
  // Make a controller-less v2 directory for cgroup.kill and cpu.stat when all limits live in v1 and the
  // unified hierarchy is writable (hybrid hosts). false: use v1 freezer + cpuacct instead.
  bool v2_tracking = true;
};

// What a sandbox's init needs to join its cgroup itself (see above). Raw descriptors owned by the
// Cgroup (PrepareJoin/CloseJoinFiles); the launcher sets placed_by_clone before the clone that
// succeeded, so the child's copy says whether it was born in the v2 directory.
struct CgroupJoin {
  static constexpr size_t kMaxFiles = 6;
  int into_dir = -1;    // v2 directory for CLONE_INTO_CGROUP (the lease descriptor); -1: none
  int into_procs = -1;  // its cgroup.procs, written by the child only when !placed_by_clone
  int tasks[kMaxFiles] = {-1, -1, -1, -1, -1, -1};  // v1 `tasks` files
  size_t ntasks = 0;
  bool placed_by_clone = false;
  bool empty() const { return into_dir < 0 && into_procs < 0 && ntasks == 0; }
};

// Child side, allocation-free: joins and closes the join files. Returns 0 or -errno.
int JoinCgroupInChild(const CgroupJoin& join);

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

  // Writes pid into cgroup.procs of every directory; fails on the first one that refuses.
  Status Attach(pid_t pid);
  // Before clone: opens the files JoinCgroupInChild writes; CloseJoinFiles() after clone.
  Result<CgroupJoin> PrepareJoin();
  void CloseJoinFiles() { join_files_.clear(); }
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
  std::vector<UniqueFd> leases_;      // flock(LOCK_SH) on each node's directory, same order
  std::vector<UniqueFd> join_files_;  // PrepareJoin's, until CloseJoinFiles
  bool owner_ = true;                 // false: Adopt()ed
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
