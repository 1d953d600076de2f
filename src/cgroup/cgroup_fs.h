// cgroupfs plumbing shared by cgroup.cc, cgroup_gc.cc and the tests: finding the hierarchies this
// process lives in (from /proc/self/mountinfo and /proc/self/cgroup, never hardcoded paths) and
// small read/write helpers for cgroup control files. Parent side only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace airlock::cgroupfs {

struct Hierarchy {
  bool v2 = false;
  // v1: the controllers co-mounted in this hierarchy ("cpu", "cpuacct", "name=systemd").
  // v2: the controllers available in our own cgroup (its cgroup.controllers), filled by Discover.
  std::vector<std::string> controllers;
  std::string mount_point;
  // The directory of this process's current cgroup in this hierarchy; when we moved ourselves into
  // our own leaf below it (SelfLeafName, v2 delegation: cgroup.cc), the leaf's parent.
  std::string own_dir;

  bool Has(std::string_view controller) const;
};

// Pure parser: one Hierarchy per /proc/self/cgroup line whose hierarchy is mounted in a way that
// contains our cgroup (mount root a prefix of our path). v2 controllers are left empty.
std::vector<Hierarchy> ParseHierarchies(std::string_view mountinfo, std::string_view proc_self_cgroup);

// Reads /proc/self/mountinfo and /proc/self/cgroup and fills v2 controllers.
std::vector<Hierarchy> DiscoverHierarchies();
// The same, read at most once a second per process (a forked child reads its own): for the launch
// path, which asks twice per run (its cgroup, then the collection of stale ones) of an answer that
// does not change within a run. Thread-safe.
std::vector<Hierarchy> RecentHierarchies();

// Whole small file (control files are < 64 KiB; larger input is truncated there).
Result<std::string> ReadFile(const std::string& path);
Result<std::string> ReadFileCapped(const std::string& path, size_t cap);
// open(O_WRONLY|O_CLOEXEC) + one write(): cgroupfs reports errors from write().
Status WriteFile(const std::string& path, std::string_view value);
// Value N of a "key N" line (memory.events, pids.events, cpu.stat, memory.oom_control).
std::optional<uint64_t> ReadKeyed(const std::string& path, std::string_view key);
// A file holding one number.
std::optional<uint64_t> ReadNumber(const std::string& path);
// Pids listed in dir/cgroup.procs (empty when unreadable).
std::vector<pid_t> ReadProcs(const std::string& dir);
bool Exists(const std::string& path);
// SIGKILLs whatever is in the cgroup directory `path` (cgroup.kill when present) and rmdirs it, retrying
// on EBUSY for about half a second. True when it is gone.
bool KillAndRemoveDir(const std::string& path);

// "airlock-<pid>-..." -> pid, or 0 when the name does not have that shape.
pid_t CreatorPidFromName(std::string_view name);
// "airlock-<pid>-s<start>-..." -> the creator's start time (clock ticks after boot, /proc/PID/stat
// field 22), or 0 when the name does not carry one (names of older versions).
uint64_t CreatorStartFromName(std::string_view name);
// Start time of a process (same unit), 0 when it does not exist or cannot be read.
uint64_t ProcessStartTime(pid_t pid);
// This process's, read once per process (a forked child reads its own). Thread-safe.
uint64_t OwnStartTime();
// "airlock-<pid>-s<start>-self": the leaf this process moves itself into when its own v2 cgroup is
// delegated to it but holds it (cgroup.cc); removed by the GC once we are gone, like a run's cgroup.
std::string SelfLeafName();

}  // namespace airlock::cgroupfs
