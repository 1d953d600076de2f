// GarbageCollectStaleCgroups() and ProbeCgroupSupport(): the parts of the cgroup module that look
// at the host rather than at one run.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "cgroup/cgroup.h"
#include "cgroup/cgroup_fs.h"
#include "core/log.h"
#include "core/unique_fd.h"

namespace airlock {
namespace {

bool PidAlive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

std::vector<std::string> ListDirs(const std::string& dir) {
  std::vector<std::string> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return out;
  while (struct dirent* e = ::readdir(d.get())) {
    if (e->d_type == DT_DIR && e->d_name[0] != '.') out.emplace_back(e->d_name);
  }
  return out;
}

}  // namespace

int GarbageCollectStaleCgroups() {
  int removed = 0;
  std::vector<std::string> seen;
  for (const auto& h : cgroupfs::RecentHierarchies()) {
    // Only where airlock makes cgroups (CreateCgroupFromParent): the unified hierarchy and the v1
    // hierarchies of its controllers.
    bool ours = h.v2 || h.Has("memory") || h.Has("pids") || h.Has("cpu") || h.Has("cpuacct") || h.Has("freezer");
    if (!ours || std::find(seen.begin(), seen.end(), h.own_dir) != seen.end()) continue;
    seen.push_back(h.own_dir);
    for (const auto& name : ListDirs(h.own_dir)) {
      pid_t creator = cgroupfs::CreatorPidFromName(name);
      if (creator <= 0 || creator == ::getpid()) continue;
      // Alive means: that pid exists and (when the name records it) started when the creator did.
      const uint64_t start = cgroupfs::CreatorStartFromName(name);
      if (PidAlive(creator) && (start == 0 || cgroupfs::ProcessStartTime(creator) == start)) continue;
      std::string path = h.own_dir + "/" + name;
      // A lease (cgroup.h) means someone still uses it: a run a stopped pool handed out, say. Ours is
      // exclusive while we remove it, so two collectors never race over one directory.
      UniqueFd lease(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!lease || ::flock(lease.get(), LOCK_EX | LOCK_NB) != 0) {
        LogDebug("cgroup gc: {} is leased or gone; left alone", path);
        continue;
      }
      if (cgroupfs::KillAndRemoveDir(path)) {
        LogDebug("cgroup gc: removed stale {}", path);
        ++removed;
      }
    }
  }
  return removed;
}

CgroupSupport ProbeCgroupSupport() {
  CgroupSupport s;
  auto hs = cgroupfs::DiscoverHierarchies();
  std::string probe = "airlock-" + std::to_string(::getpid()) + "-probe";
  auto can_create = [&probe](const std::string& dir) {
    std::string p = dir + "/" + probe;
    if (::mkdir(p.c_str(), 0755) != 0) return false;
    ::rmdir(p.c_str());
    return true;
  };
  for (const auto& h : hs) {
    if (h.v2) {
      s.v2_mounted = true;
      s.v2_path = h.own_dir;
      s.v2_controllers = h.controllers;
    } else {
      for (const auto& c : h.controllers) s.v1_controllers.push_back(c);
    }
  }
  for (const char* c : {"memory", "pids", "cpu", "cpuacct", "freezer"}) {
    bool ok = false;
    for (const auto& h : hs) {
      if (!h.Has(c)) continue;
      if (h.v2) {
        auto sub = cgroupfs::ReadFile(h.own_dir + "/cgroup.subtree_control");
        // Usable when already enabled for children, or when our cgroup has no processes of its own
        // (then we may enable it); writing is left to CreateCgroupFromParent.
        bool enabled = sub && (" " + *sub + " ").find(std::string(" ") + c) != std::string::npos;
        bool root = h.own_dir == h.mount_point;  // the root cgroup is exempt from that rule
        // (Being its only process is enough too: CreateCgroupFromParent then moves into a leaf.)
        auto procs = cgroupfs::ReadProcs(h.own_dir);
        bool alone = procs.empty() || (procs.size() == 1 && procs[0] == ::getpid());
        ok = (enabled || root || alone) && can_create(h.own_dir);
      } else {
        ok = can_create(h.own_dir);
      }
      if (ok) break;
    }
    if (ok) s.writable.push_back(c);
  }
  return s;
}

}  // namespace airlock
