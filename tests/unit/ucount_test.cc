// A sandbox's share of its owner's per-user counters (src/ucount/ucount.h): the planned knobs and the
// rlimits lowered in the payload (never raised).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <string>

#include "ucount/ucount.h"

using namespace airlock;

namespace {

std::string Knob(const UcountPlan& plan, const std::string& name) {
  for (const auto& s : plan.sysctls)
    if (s.name == name) return s.value;
  return "absent";
}

long HostKnob(const std::string& name) {
  std::ifstream f("/proc/sys/user/" + name);
  long v = -1;
  f >> v;
  return v;
}

int InChild(const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) _exit(fn());
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(UcountPlan, NoNestingByDefaultAndASliceOfTheHostsInotify) {
  UcountPlan plan = PlanUcountLimits({});
  for (const char* kind : {"user", "pid", "net", "mnt", "ipc", "uts", "cgroup", "time"})
    EXPECT_EQ(Knob(plan, std::string("max_") + kind + "_namespaces"), "0") << kind;
  EXPECT_EQ(Knob(plan, "max_fanotify_groups"), "0");
  EXPECT_EQ(Knob(plan, "max_fanotify_marks"), "0");
  long host = HostKnob("max_inotify_instances");
  long want = host < 0 ? kInotifyInstances : std::max(1L, std::min(kInotifyInstances, host / 4));
  EXPECT_EQ(Knob(plan, "max_inotify_instances"), std::to_string(want));
  host = HostKnob("max_inotify_watches");
  want = host < 0 ? kInotifyWatches : std::max(1L, std::min(kInotifyWatches, host / 4));
  EXPECT_EQ(Knob(plan, "max_inotify_watches"), std::to_string(want));
}

TEST(UcountPlan, NestingTimeNamespaceAndFanotifyWhenAllowed) {
  UcountNeeds needs;
  needs.nesting = true;
  needs.fanotify = true;
  needs.time_namespace = true;
  UcountPlan plan = PlanUcountLimits(needs);
  EXPECT_EQ(Knob(plan, "max_user_namespaces"), std::to_string(kNestedNamespaces));
  EXPECT_EQ(Knob(plan, "max_time_namespaces"), std::to_string(kNestedNamespaces + 1)) << "init's own time namespace";
  EXPECT_EQ(Knob(plan, "max_fanotify_groups"), std::to_string(kFanotifyGroups));
  UcountNeeds mounts;
  mounts.detached_mounts = true;
  EXPECT_EQ(Knob(PlanUcountLimits(mounts), "max_mnt_namespaces"), std::to_string(kNestedNamespaces));
  EXPECT_EQ(Knob(PlanUcountLimits(mounts), "max_user_namespaces"), "0");
}

TEST(UcountPlan, RlimitSharesAreAQuarterOfTheCallersLimit) {
  struct rlimit mq {};
  ASSERT_EQ(getrlimit(RLIMIT_MSGQUEUE, &mq), 0);
  UcountPlan plan = PlanUcountLimits({});
  bool found = false;
  for (const auto& r : plan.rlimits) {
    if (r.resource != RLIMIT_MSGQUEUE) continue;
    found = true;
    EXPECT_EQ(r.share, mq.rlim_cur / kRlimitShareDivisor);
  }
  EXPECT_EQ(found, mq.rlim_cur != RLIM_INFINITY) << "an unlimited counter has no host quota to protect";
}

TEST(UcountRlimits, LoweredNeverRaised) {
  int rc = InChild([] {
    struct rlimit small = {1000, 2000};
    if (setrlimit(RLIMIT_MSGQUEUE, &small) != 0) return 2;
    UcountPlan plan;
    plan.rlimits.push_back({RLIMIT_MSGQUEUE, 5000});
    if (LowerUcountRlimitsInChild(plan) != 0) return 3;
    struct rlimit now {};
    getrlimit(RLIMIT_MSGQUEUE, &now);
    if (now.rlim_cur != 1000 || now.rlim_max != 2000) return 4;  // a share above the limit changes nothing
    plan.rlimits[0].share = 500;
    if (LowerUcountRlimitsInChild(plan) != 0) return 5;
    getrlimit(RLIMIT_MSGQUEUE, &now);
    if (now.rlim_cur != 500 || now.rlim_max != 500) return 6;  // soft and hard: the payload cannot raise it back
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

}  // namespace
