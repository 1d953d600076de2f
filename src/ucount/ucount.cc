#include "ucount/ucount.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

namespace airlock {
namespace {

// The caller's own limit for one counter (its user namespace's /proc/sys/user/<name>), or -1.
long HostLimit(const char* name) {
  std::string path = std::string("/proc/sys/user/") + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[32] = {};
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return -1;
  char* end = nullptr;
  long v = std::strtol(buf, &end, 10);
  return end == buf ? -1 : v;
}

// `share`, or a quarter of the caller's limit when that is lower (never below 1: a sandbox may always
// create one).
long ShareOf(const char* name, long share) {
  long host = HostLimit(name);
  if (host < 0) return share;
  return std::max(1L, std::min(share, host / 4));
}

}  // namespace

UcountPlan PlanUcountLimits(const UcountNeeds& needs) {
  UcountPlan plan;
  auto add = [&plan](const char* name, long value) { plan.sysctls.push_back({name, std::to_string(value)}); };
  add("max_inotify_instances", ShareOf("max_inotify_instances", kInotifyInstances));
  add("max_inotify_watches", ShareOf("max_inotify_watches", kInotifyWatches));
  add("max_fanotify_groups", needs.fanotify ? kFanotifyGroups : 0);
  add("max_fanotify_marks", needs.fanotify ? kFanotifyMarks : 0);
  const long nested = needs.nesting ? kNestedNamespaces : 0;
  for (const char* kind : {"user", "pid", "net", "ipc", "uts", "cgroup"})
    add((std::string("max_") + kind + "_namespaces").c_str(), nested);
  add("max_mnt_namespaces", needs.detached_mounts ? kNestedNamespaces : nested);
  // init unshares its time namespace after the knobs are written: leave room for that one.
  add("max_time_namespaces", nested + (needs.time_namespace ? 1 : 0));

  for (int resource : {RLIMIT_MSGQUEUE, RLIMIT_SIGPENDING, RLIMIT_MEMLOCK}) {
    struct rlimit cur {};
    if (::getrlimit(resource, &cur) != 0 || cur.rlim_cur == RLIM_INFINITY) continue;
    plan.rlimits.push_back({resource, cur.rlim_cur / kRlimitShareDivisor});
  }
  return plan;
}

int LowerUcountRlimitsInChild(const UcountPlan& plan) {
  for (const UcountRlimit& r : plan.rlimits) {
    struct rlimit cur {};
    if (::getrlimit(r.resource, &cur) != 0) return -errno;
    cur.rlim_cur = std::min(cur.rlim_cur, r.share);
    cur.rlim_max = std::min(cur.rlim_max, r.share);
    if (::setrlimit(r.resource, &cur) != 0) return -errno;
  }
  return 0;
}

}  // namespace airlock
