// cgroup: hierarchy discovery (pure, over recorded mountinfo texts) and real cgroups as root: limits,
// attach, joining from the child (clone3 into v2, "0" into v1 tasks), leases and adoption, fork bomb
// vs pids, memory hog vs OOM, KillAll, Remove, stale-cgroup GC.
// The real tests skip loudly when this user cannot create child cgroups (not root, no delegation).
#include "cgroup/cgroup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cgroup/cgroup_fs.h"
#include "kernel/syscalls.h"
#include "test_env.h"

namespace airlock {
namespace {

using cgroupfs::Hierarchy;

const Hierarchy* Find(const std::vector<Hierarchy>& hs, const std::string& c, bool v2 = false) {
  for (const auto& h : hs) {
    if (h.v2 == v2 && (v2 || h.Has(c))) return &h;
  }
  return nullptr;
}

// ---- pure parsing ----

constexpr const char* kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
constexpr const char* kHybridSelf =
    "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n";

// Forks up to n children that wait in pause(); returns how many the kernel allowed.
int ForkPausedChildren(int n) {
  int forked = 0;
  for (int i = 0; i < n; ++i) {
    pid_t p = fork();
    if (p == 0) {
      pause();
      _exit(0);
    }
    if (p < 0) break;
    ++forked;
  }
  return forked;
}

TEST(CgroupParse, HybridHost) {
  auto hs = cgroupfs::ParseHierarchies(kHybridMountinfo, kHybridSelf);
  ASSERT_EQ(hs.size(), 6u);
  ASSERT_NE(Find(hs, "memory"), nullptr);
  EXPECT_EQ(Find(hs, "memory")->own_dir, "/sys/fs/cgroup/memory/process_api/abc");
  EXPECT_EQ(Find(hs, "pids")->own_dir, "/sys/fs/cgroup/pids");
  EXPECT_EQ(Find(hs, "name=systemd")->own_dir, "/sys/fs/cgroup/systemd");
  ASSERT_NE(Find(hs, "", true), nullptr);
  EXPECT_EQ(Find(hs, "", true)->own_dir, "/sys/fs/cgroup/unified");
}

TEST(CgroupParse, PureV2WithNestedCgroup) {
  auto hs = cgroupfs::ParseHierarchies(
      "25 20 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
      "0::/user.slice/user-1000.slice/session-2.scope\n");
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_TRUE(hs[0].v2);
  EXPECT_EQ(hs[0].own_dir, "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope");
}

TEST(CgroupParse, CoMountedAndBindMountedRootAndEscapes) {
  auto hs = cgroupfs::ParseHierarchies(
      // cpu,cpuacct co-mounted; memory bind-mounted from a sub-cgroup at a path with a space.
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
      "35 31 0:32 /docker/c1 /mnt/my\\040cg rw - cgroup cgroup rw,memory\n"
      "36 31 0:33 /other /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n",
      "3:cpu,cpuacct:/a\n4:memory:/docker/c1/inner\n5:pids:/elsewhere\n");
  ASSERT_EQ(hs.size(), 2u);  // pids: our cgroup is not below the mounted root
  EXPECT_EQ(Find(hs, "cpuacct")->own_dir, "/sys/fs/cgroup/cpu,cpuacct/a");
  EXPECT_TRUE(Find(hs, "cpu")->Has("cpuacct"));
  EXPECT_EQ(Find(hs, "memory")->own_dir, "/mnt/my cg/inner");
}

TEST(CgroupParse, GarbageDoesNotCrash) {
  EXPECT_TRUE(cgroupfs::ParseHierarchies("", "").empty());
  EXPECT_TRUE(cgroupfs::ParseHierarchies(" - cgroup2\n\n\\\\\\ - - -", "0::\n::::\n1:x:rel\n0::/../x").empty());
  std::string junk(100000, ':');
  EXPECT_TRUE(cgroupfs::ParseHierarchies(junk, junk).empty());
}

TEST(CgroupParse, CreatorPid) {
  EXPECT_EQ(cgroupfs::CreatorPidFromName("airlock-123-0"), 123);
  EXPECT_EQ(cgroupfs::CreatorPidFromName("airlock-123-4-hint"), 123);
  EXPECT_EQ(cgroupfs::CreatorPidFromName("airlock-123"), 0);
  EXPECT_EQ(cgroupfs::CreatorPidFromName("airlock--1-0"), 0);
  EXPECT_EQ(cgroupfs::CreatorPidFromName("other-123-0"), 0);
  EXPECT_EQ(cgroupfs::CreatorPidFromName("airlock-99999999999999-0"), 0);
  EXPECT_EQ(cgroupfs::CreatorPidFromName("airlock-123-s4567-0-run"), 123);
}

TEST(CgroupParse, CreatorStartTime) {
  EXPECT_EQ(cgroupfs::CreatorStartFromName("airlock-123-s4567-0-run"), 4567u);
  EXPECT_EQ(cgroupfs::CreatorStartFromName("airlock-123-s4567-0"), 4567u);
  EXPECT_EQ(cgroupfs::CreatorStartFromName("airlock-123-0-run"), 0u);  // older names
  EXPECT_EQ(cgroupfs::CreatorStartFromName("airlock-123-s-0"), 0u);
  EXPECT_EQ(cgroupfs::CreatorStartFromName("airlock-123-s99"), 0u);
  EXPECT_EQ(cgroupfs::CreatorStartFromName("other-123-s1-0"), 0u);
  // Our own start time is readable and stable; a pid that does not exist has none.
  EXPECT_GT(cgroupfs::ProcessStartTime(getpid()), 0u);
  EXPECT_EQ(cgroupfs::ProcessStartTime(getpid()), cgroupfs::ProcessStartTime(getpid()));
  EXPECT_EQ(cgroupfs::ProcessStartTime(4194304), 0u);
}

TEST(CgroupShapeText, RoundTripsAndRejectsGarbage) {
  CgroupShape s{"v1+v2", {"memory", "pids"}, {{"memory"}, {"pids"}, {}, {"cpu", "cpuacct"}}};
  auto back = CgroupShape::FromText(s.ToText());
  ASSERT_TRUE(back) << back.error().What();
  EXPECT_EQ(back->version, s.version);
  EXPECT_EQ(back->enforced, s.enforced);
  EXPECT_EQ(back->node_controllers, s.node_controllers);
  for (const char* bad : {"", "v1\n", "v1\nenforced memory\n", "v1 x\nnode pids\n", "v1\nnode ../../etc\n",
                          "v1\nnode pids\nother\n", "v1\nnode a b c d e f g h i\n"}) {
    EXPECT_FALSE(CgroupShape::FromText(bad)) << bad;
  }
  EXPECT_FALSE(CgroupShape::FromText(std::string(5000, 'a')));
}

// The leaf airlock moves itself into in a delegated v2 scope (cgroup.cc MoveSelfIntoLeaf) carries
// the creator's pid and start time like a run's cgroup, so the GC removes it once we are gone.
TEST(CgroupBasics, SelfLeafIsNamedForTheGarbageCollector) {
  std::string leaf = cgroupfs::SelfLeafName();
  EXPECT_EQ(cgroupfs::CreatorPidFromName(leaf), getpid()) << leaf;
  EXPECT_EQ(cgroupfs::CreatorStartFromName(leaf), cgroupfs::ProcessStartTime(getpid())) << leaf;
  EXPECT_TRUE(leaf.ends_with("-self")) << leaf;
}

TEST(CgroupBasics, NoLimitsMeansInactive) {
  Limits none;  // bounded by default (policy.h): lift both
  none.memory_bytes.reset();
  none.pids.reset();
  auto cg = CreateCgroupFromParent(none, "none");
  ASSERT_TRUE(cg) << cg.error().What();
  EXPECT_FALSE(cg->active());
  EXPECT_EQ(cg->version(), "none");
  EXPECT_TRUE(cg->Remove());
}

// Unprivileged without delegation: not an error, nothing enforced (the caller falls back). As root this
// runs in a child that became uid 65534; as a user it runs directly.
TEST(CgroupBasics, UnwritableMeansNotEnforcedNotError) {
  auto body = []() -> int {
    auto sup = ProbeCgroupSupport();
    Limits l;
    l.memory_bytes = 64ull << 20;
    l.pids = 16;
    auto cg = CreateCgroupFromParent(l, "unpriv");
    if (!cg) return 1;
    for (const char* c : {"memory", "pids"}) {
      bool writable = std::find(sup.writable.begin(), sup.writable.end(), c) != sup.writable.end();
      bool enforced = std::find(cg->enforced().begin(), cg->enforced().end(), c) != cg->enforced().end();
      if (writable != enforced) return 2;
    }
    return cg->Remove() ? 0 : 3;
  };
  if (geteuid() != 0) {
    EXPECT_EQ(body(), 0);
    return;
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(9);
    _exit(body());
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ---- real cgroups ----

#define REQUIRE_WRITABLE(...)                                                                       \
  do {                                                                                              \
    auto sup_ = ProbeCgroupSupport();                                                               \
    for (const char* c_ : {__VA_ARGS__}) {                                                          \
      if (std::find(sup_.writable.begin(), sup_.writable.end(), c_) == sup_.writable.end())         \
        GTEST_SKIP() << "SKIPPED LOUDLY: uid " << geteuid() << " cannot create cgroups with " << c_ \
                     << " here (not root and no delegated subtree?)";                           \
    }                                                                                               \
  } while (0)

// A forked child that waits until Release() before running `body` (so it can be attached first).
class HeldChild {
 public:
  template <class Fn>
  explicit HeldChild(Fn body) {
    if (pipe2(go_, O_CLOEXEC) != 0 || pipe2(out_, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(go_[1]);
      close(out_[0]);
      char c;
      if (read(go_[0], &c, 1) != 1) _exit(70);
      _exit(body(out_[1]));
    }
    close(go_[0]);
    close(out_[1]);
  }
  ~HeldChild() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(go_[1]);
    close(out_[0]);
  }
  pid_t pid() const { return pid_; }
  void Release() { (void)!write(go_[1], "g", 1); }
  // Reads an int the child wrote to its output fd (-1 on EOF).
  int ReadInt() {
    int v = -1;
    return read(out_[0], &v, sizeof v) == sizeof v ? v : -1;
  }
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

 private:
  int go_[2] = {-1, -1};
  int out_[2] = {-1, -1};
  pid_t pid_ = -1;
  bool reaped_ = false;
};

bool Contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(CgroupReal, CreateWritesLimitsAndAttaches) {
  REQUIRE_WRITABLE("memory", "pids", "cpu");
  Limits l;
  l.memory_bytes = 64ull << 20;
  l.pids = 32;
  l.cpus = 0.5;
  auto cg = CreateCgroupFromParent(l, "unit/test");
  ASSERT_TRUE(cg) << cg.error().What();
  ASSERT_TRUE(cg->active());
  EXPECT_TRUE(Contains(cg->enforced(), "memory"));
  EXPECT_TRUE(Contains(cg->enforced(), "pids"));
  EXPECT_TRUE(Contains(cg->enforced(), "cpu"));
  EXPECT_NE(cg->version(), "none");
  std::string name;
  bool saw_pids_max = false, saw_mem = false, saw_cpu = false;
  for (const auto& p : cg->paths()) {
    name = p.substr(p.rfind('/') + 1);
    EXPECT_EQ(name.rfind("airlock-" + std::to_string(getpid()) + "-", 0), 0u) << name;
    EXPECT_NE(name.find("-unittest"), std::string::npos) << name;  // sanitized hint
    if (auto v = cgroupfs::ReadNumber(p + "/pids.max")) saw_pids_max = (*v == 32);
    if (auto v = cgroupfs::ReadNumber(p + "/memory.limit_in_bytes")) saw_mem = (*v == (64ull << 20));
    if (auto v = cgroupfs::ReadNumber(p + "/memory.max")) saw_mem = (*v == (64ull << 20));
    if (auto v = cgroupfs::ReadNumber(p + "/cpu.cfs_quota_us")) saw_cpu = (*v == 50000);
    if (auto t = cgroupfs::ReadFile(p + "/cpu.max"); t && cgroupfs::Exists(p + "/cpu.max")) saw_cpu = saw_cpu || t->rfind("50000 100000", 0) == 0;
  }
  EXPECT_TRUE(saw_pids_max);
  EXPECT_TRUE(saw_mem);
  EXPECT_TRUE(saw_cpu);

  HeldChild child([](int out) {
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < 50'000'000; ++i) x = x + i;  // some CPU to account
    int ok = 1;
    (void)!write(out, &ok, sizeof ok);
    return 0;
  });
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(cg->Attach(child.pid()));
  std::string self_cg = test::ReadFileOrEmpty("/proc/" + std::to_string(child.pid()) + "/cgroup");
  EXPECT_NE(self_cg.find(name), std::string::npos) << self_cg;
  child.Release();
  EXPECT_EQ(child.ReadInt(), 1);
  int status = child.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto st = cg->Stats();
  ASSERT_TRUE(st.cpu_usage_ns.has_value());
  EXPECT_GT(*st.cpu_usage_ns, 0u);
  ASSERT_TRUE(st.memory_peak_bytes.has_value());
  EXPECT_GT(*st.memory_peak_bytes, 0u);
  EXPECT_FALSE(st.oom_killed);
  EXPECT_FALSE(st.pids_limit_hit);
  auto paths = cg->paths();
  ASSERT_TRUE(cg->Remove());
  EXPECT_FALSE(cg->active());
  for (const auto& p : paths) EXPECT_FALSE(cgroupfs::Exists(p)) << p;
}

TEST(CgroupReal, ForkBombStopsAtPidsAndKillAllEmptiesIt) {
  REQUIRE_WRITABLE("pids");
  Limits l;
  l.pids = 8;
  auto cg = CreateCgroupFromParent(l, "forkbomb");
  ASSERT_TRUE(cg) << cg.error().What();
  ASSERT_TRUE(Contains(cg->enforced(), "pids"));
  HeldChild child([](int out) {
    int forked = ForkPausedChildren(64);
    (void)!write(out, &forked, sizeof forked);
    pause();
    return 0;
  });
  ASSERT_TRUE(cg->Attach(child.pid()));
  child.Release();
  int forked = child.ReadInt();
  EXPECT_GE(forked, 1);
  EXPECT_LE(forked, 7);  // the bomb itself is the 8th
  EXPECT_TRUE(cg->Stats().pids_limit_hit);
  ASSERT_TRUE(cg->KillAll());
  for (const auto& p : cg->paths()) EXPECT_TRUE(cgroupfs::ReadProcs(p).empty()) << p;
  int status = child.Wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  auto paths = cg->paths();
  ASSERT_TRUE(cg->Remove());
  for (const auto& p : paths) EXPECT_FALSE(cgroupfs::Exists(p)) << p;
}

// The cold launcher's way in (OpenForJoin): the child writes "0" into each v1 `tasks` file itself
// (no cgroup.procs write by the parent), and the limit then holds for it and its children.
TEST(CgroupReal, ChildJoinsTheV1DirectoriesByItself) {
  REQUIRE_WRITABLE("pids");
  Limits l;
  l.pids = 8;
  l.memory_bytes.reset();
  CgroupOptions opts;
  opts.v2_tracking = false;  // every directory is v1 here: the child joins them all
  auto cg = CreateCgroupFromParent(l, "join", opts);
  ASSERT_TRUE(cg) << cg.error().What();
  auto fds = cg->OpenForJoin();
  ASSERT_TRUE(fds) << fds.error().What();
  if (fds->v2_dir || fds->v1_tasks.empty()) GTEST_SKIP() << "no v1 directory for pids here (cgroup v2 host)";
  std::vector<int> raw;
  for (const auto& fd : fds->v1_tasks) raw.push_back(fd.get());
  HeldChild child([&raw](int out) {
    int rc = JoinCgroupInChild(raw.data(), raw.size());
    int forked = rc == 0 ? ForkPausedChildren(64) : 0;
    (void)!write(out, rc == 0 ? &forked : &rc, sizeof forked);
    pause();
    return 0;
  });
  child.Release();
  int forked = child.ReadInt();
  EXPECT_GE(forked, 1);
  EXPECT_LE(forked, 7) << "the limit did not hold for a child that joined by itself";
  for (const auto& p : cg->paths()) {
    auto procs = cgroupfs::ReadProcs(p);
    EXPECT_TRUE(std::find(procs.begin(), procs.end(), child.pid()) != procs.end()) << p;
  }
  ASSERT_TRUE(cg->KillAll());
  child.Wait();
  ASSERT_TRUE(cg->Remove());
}

// The v1 path of KillAll (freeze, SIGKILL each pid, thaw) and cpuacct accounting, forced by turning off
// the v2 tracking directory. Needs v1 pids + freezer + cpuacct hierarchies (hybrid or v1 hosts).
TEST(CgroupReal, V1FreezerKillAllAndCpuacct) {
  REQUIRE_WRITABLE("pids");
  auto hs = cgroupfs::DiscoverHierarchies();
  if (!Find(hs, "pids") || !Find(hs, "freezer") || !Find(hs, "cpuacct"))
    GTEST_SKIP() << "SKIPPED LOUDLY: no v1 pids/freezer/cpuacct hierarchies on this host (pure v2?)";
  Limits l;
  l.pids = 6;
  CgroupOptions opts;
  opts.v2_tracking = false;
  auto cg = CreateCgroupFromParent(l, "v1kill", opts);
  ASSERT_TRUE(cg) << cg.error().What();
  ASSERT_TRUE(Contains(cg->enforced(), "pids"));
  EXPECT_EQ(cg->version(), "v1");
  bool has_freezer = false;
  for (const auto& p : cg->paths()) has_freezer = has_freezer || cgroupfs::Exists(p + "/freezer.state");
  ASSERT_TRUE(has_freezer);
  HeldChild child([](int out) {
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < 20'000'000; ++i) x = x + i;
    int forked = 0;
    for (int i = 0; i < 32; ++i) {
      pid_t p = fork();
      if (p == 0) {
        for (;;) pause();
      }
      if (p < 0) break;
      ++forked;
    }
    (void)!write(out, &forked, sizeof forked);
    for (;;) pause();
    return 0;
  });
  ASSERT_TRUE(cg->Attach(child.pid()));
  child.Release();
  int forked = child.ReadInt();
  EXPECT_EQ(forked, 5);
  auto st = cg->Stats();
  EXPECT_TRUE(st.pids_limit_hit);
  ASSERT_TRUE(st.cpu_usage_ns.has_value());
  EXPECT_GT(*st.cpu_usage_ns, 0u);
  ASSERT_TRUE(cg->KillAll());
  for (const auto& p : cg->paths()) EXPECT_TRUE(cgroupfs::ReadProcs(p).empty()) << p;
  int status = child.Wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  auto paths = cg->paths();
  ASSERT_TRUE(cg->Remove());
  for (const auto& p : paths) EXPECT_FALSE(cgroupfs::Exists(p)) << p;
}

TEST(CgroupReal, MemoryHogIsOomKilled) {
  REQUIRE_WRITABLE("memory");
  Limits l;
  l.memory_bytes = 32ull << 20;
  auto cg = CreateCgroupFromParent(l, "hog");
  ASSERT_TRUE(cg) << cg.error().What();
  ASSERT_TRUE(Contains(cg->enforced(), "memory"));
  HeldChild child([](int) {
    for (int i = 0; i < 512; ++i) {  // 512 MiB, touched
      char* p = static_cast<char*>(malloc(1 << 20));
      if (!p) return 3;
      memset(p, 0x5a, 1 << 20);
    }
    return 0;
  });
  ASSERT_TRUE(cg->Attach(child.pid()));
  child.Release();
  int status = child.Wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  auto st = cg->Stats();
  EXPECT_TRUE(st.oom_killed);
  ASSERT_TRUE(st.memory_peak_bytes.has_value());
  EXPECT_GE(*st.memory_peak_bytes, 16ull << 20);
  EXPECT_LE(*st.memory_peak_bytes, 32ull << 20);
}

TEST(CgroupReal, RemoveKillsWhatIsLeftAndLeavesNothing) {
  REQUIRE_WRITABLE("pids");
  Limits l;
  l.pids = 16;
  std::vector<std::string> paths;
  HeldChild child([](int) {
    pause();
    return 0;
  });
  {
    auto cg = CreateCgroupFromParent(l, "");
    ASSERT_TRUE(cg) << cg.error().What();
    ASSERT_TRUE(cg->Attach(child.pid()));
    child.Release();
    paths = cg->paths();
    ASSERT_FALSE(paths.empty());
    // destructor: Remove() -> KillAll() -> rmdir
  }
  for (const auto& p : paths) EXPECT_FALSE(cgroupfs::Exists(p)) << p;
  int status = child.Wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST(CgroupReal, MovedCgroupIsRemovedOnce) {
  REQUIRE_WRITABLE("pids");
  Limits l;
  l.pids = 4;
  auto cg = CreateCgroupFromParent(l, "move");
  ASSERT_TRUE(cg);
  Cgroup moved = std::move(*cg);
  EXPECT_FALSE(cg->active());
  EXPECT_TRUE(moved.active());
  auto paths = moved.paths();
  for (const auto& p : paths) EXPECT_TRUE(cgroupfs::Exists(p)) << p;
  ASSERT_TRUE(moved.Remove());
  for (const auto& p : paths) EXPECT_FALSE(cgroupfs::Exists(p)) << p;
}

// Names left by a dead airlock that had our pid are stepped around, not reused or killed.
TEST(CgroupReal, TakenNamesAreSkipped) {
  REQUIRE_WRITABLE("pids");
  Limits l;
  l.pids = 4;
  auto a = CreateCgroupFromParent(l, "");
  ASSERT_TRUE(a);
  ASSERT_FALSE(a->paths().empty());
  std::string first = a->paths().front();
  std::string prefix = "airlock-" + std::to_string(getpid()) + "-s" + std::to_string(cgroupfs::ProcessStartTime(getpid())) + "-";
  unsigned k = std::stoul(first.substr(first.rfind(prefix) + prefix.size()));
  auto hs = cgroupfs::DiscoverHierarchies();
  const Hierarchy* h = Find(hs, "pids");
  ASSERT_NE(h, nullptr);
  std::vector<std::string> squatters;
  for (unsigned i = k + 1; i <= k + 3; ++i) {
    squatters.push_back(h->own_dir + "/" + prefix + std::to_string(i));
    ASSERT_EQ(mkdir(squatters.back().c_str(), 0755), 0) << strerror(errno);
  }
  auto b = CreateCgroupFromParent(l, "");
  ASSERT_TRUE(b);
  EXPECT_TRUE(Contains(b->enforced(), "pids"));
  for (const auto& p : b->paths()) EXPECT_NE(p.find(prefix + std::to_string(k + 4)), std::string::npos) << p;
  ASSERT_TRUE(b->Remove());
  for (const auto& s : squatters) EXPECT_EQ(rmdir(s.c_str()), 0) << s;  // untouched
}

TEST(CgroupReal, GarbageCollectRemovesStaleAndKeepsLive) {
  REQUIRE_WRITABLE("pids");
  auto hs = cgroupfs::DiscoverHierarchies();
  const Hierarchy* h = Find(hs, "pids");
  ASSERT_NE(h, nullptr);
  // A pid that is certainly dead: a reaped child.
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  ASSERT_NE(kill(dead, 0), 0);
  std::string stale = h->own_dir + "/airlock-" + std::to_string(dead) + "-7";
  std::string live = h->own_dir + "/airlock-" + std::to_string(getpid()) + "-9999";
  ASSERT_EQ(mkdir(stale.c_str(), 0755), 0) << strerror(errno);
  ASSERT_EQ(mkdir(live.c_str(), 0755), 0) << strerror(errno);
  // A leftover process inside the stale cgroup.
  HeldChild leftover([](int) {
    pause();
    return 0;
  });
  ASSERT_TRUE(cgroupfs::WriteFile(stale + "/cgroup.procs", std::to_string(leftover.pid())));
  EXPECT_GE(GarbageCollectStaleCgroups(), 1);
  EXPECT_FALSE(cgroupfs::Exists(stale));
  EXPECT_TRUE(cgroupfs::Exists(live));
  int status = leftover.Wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_EQ(rmdir(live.c_str()), 0);
}

// How many lines of /proc/PID/cgroup name the cgroup (one per hierarchy it is in).
size_t LinesNaming(pid_t pid, const Cgroup& cg) {
  std::string self = test::ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/cgroup");
  const std::string first = cg.paths().front();
  std::string name = first.substr(first.rfind('/')) + "\n";
  size_t n = 0;
  for (size_t p = self.find(name); p != std::string::npos; p = self.find(name, p + 1)) ++n;
  return n;
}

// The child joins by itself, before it does anything: clone3 CLONE_INTO_CGROUP for the v2 directory,
// "0" into every v1 `tasks` file (OpenForJoin, JoinCgroupInChild). No migration from outside.
TEST(CgroupReal, ChildJoinsItselfWithClone3AndTasks) {
  REQUIRE_WRITABLE("memory", "pids");
  Limits l;
  l.memory_bytes = 64ull << 20;
  l.pids = 16;
  for (bool use_clone3 : {true, false}) {
    SCOPED_TRACE(use_clone3 ? "clone3 into the v2 directory" : "plain fork: v1 only");
    auto cg = CreateCgroupFromParent(l, "join");
    ASSERT_TRUE(cg) << cg.error().What();
    auto join = cg->OpenForJoin();
    ASSERT_TRUE(join) << join.error().What();
    std::vector<int> tasks;
    for (const auto& fd : join->v1_tasks) tasks.push_back(fd.get());
    int go[2];
    ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
    bool clone3 = use_clone3 && join->v2_dir;
    pid_t pid = clone3 ? kernel::Clone3IntoCgroup(0, nullptr, join->v2_dir.get()) : fork();
    ASSERT_GE(pid, 0) << strerror(errno);
    if (pid == 0) {
      int rc = JoinCgroupInChild(tasks.data(), tasks.size());
      char c;
      if (read(go[0], &c, 1) != 1) _exit(70);
      _exit(rc == 0 ? 0 : 1);
    }
    close(go[0]);
    const size_t want = tasks.size() + (clone3 ? 1 : 0);
    for (int i = 0; i < 200 && LinesNaming(pid, *cg) != want; ++i) usleep(5000);
    EXPECT_EQ(LinesNaming(pid, *cg), want) << test::ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/cgroup");
    EXPECT_GT(want, 0u);
    (void)!write(go[1], "g", 1);
    close(go[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_TRUE(cg->Remove());
  }
}

// The lease: a cgroup someone else still holds is not removed (EBUSY, nothing touched) until they let go.
TEST(CgroupReal, RemoveWaitsForOtherLeaseHolders) {
  REQUIRE_WRITABLE("pids");
  Limits l;
  l.pids = 4;
  auto cg = CreateCgroupFromParent(l, "lease");
  ASSERT_TRUE(cg);
  auto paths = cg->paths();
  int other = open(paths.front().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(other, 0);
  ASSERT_EQ(flock(other, LOCK_SH), 0);
  auto busy = cg->Remove();
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().err(), EBUSY) << busy.error().What();
  EXPECT_TRUE(cg->active());
  for (const auto& p : paths) EXPECT_TRUE(cgroupfs::Exists(p)) << p;
  close(other);
  EXPECT_TRUE(cg->Remove());
  for (const auto& p : paths) EXPECT_FALSE(cgroupfs::Exists(p)) << p;
}

// Adopt: what a pool's client does with the leases it receives. It kills and reads; removing is the
// creator's business while the creator lives.
TEST(CgroupReal, AdoptedCgroupFromLeases) {
  REQUIRE_WRITABLE("pids");
  Limits l;
  l.pids = 4;
  auto cg = CreateCgroupFromParent(l, "adopt");
  ASSERT_TRUE(cg);
  std::vector<UniqueFd> leases;
  for (int fd : cg->lease_fds()) leases.emplace_back(fcntl(fd, F_DUPFD_CLOEXEC, 3));
  auto adopted = Cgroup::Adopt(std::move(leases), cg->shape());
  ASSERT_TRUE(adopted) << adopted.error().What();
  EXPECT_EQ(adopted->paths(), cg->paths());
  EXPECT_EQ(adopted->enforced(), cg->enforced());
  EXPECT_EQ(adopted->version(), cg->version());
  auto paths = cg->paths();
  EXPECT_TRUE(adopted->Remove());  // lets go
  EXPECT_FALSE(adopted->active());
  for (const auto& p : paths) EXPECT_TRUE(cgroupfs::Exists(p)) << p;
  // Not a cgroup, or not ours: refused.
  std::vector<UniqueFd> tmp;
  tmp.emplace_back(open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_FALSE(Cgroup::Adopt(std::move(tmp), CgroupShape{"v1", {}, {{"pids"}}}));
  auto hs = cgroupfs::DiscoverHierarchies();
  std::vector<UniqueFd> own;
  own.emplace_back(open(Find(hs, "pids")->own_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_FALSE(Cgroup::Adopt(std::move(own), CgroupShape{"v1", {}, {{"pids"}}}));
  EXPECT_TRUE(cg->Remove());
  for (const auto& p : paths) EXPECT_FALSE(cgroupfs::Exists(p)) << p;
}

// A stale cgroup (dead creator) that someone still holds a lease on is in use: the GC leaves it until
// the lease is gone (a run served by a pool that was stopped meanwhile).
TEST(CgroupReal, GarbageCollectLeavesLeasedCgroupsAlone) {
  REQUIRE_WRITABLE("pids");
  auto hs = cgroupfs::DiscoverHierarchies();
  const Hierarchy* h = Find(hs, "pids");
  ASSERT_NE(h, nullptr);
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  std::string stale = h->own_dir + "/airlock-" + std::to_string(dead) + "-8";
  ASSERT_EQ(mkdir(stale.c_str(), 0755), 0) << strerror(errno);
  int lease = open(stale.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(lease, 0);
  ASSERT_EQ(flock(lease, LOCK_SH), 0);
  GarbageCollectStaleCgroups();
  EXPECT_TRUE(cgroupfs::Exists(stale));
  close(lease);
  GarbageCollectStaleCgroups();
  EXPECT_FALSE(cgroupfs::Exists(stale));
  if (cgroupfs::Exists(stale)) rmdir(stale.c_str());
}

TEST(CgroupProbe, ReportsHierarchies) {
  auto s = ProbeCgroupSupport();
  auto hs = cgroupfs::DiscoverHierarchies();
  EXPECT_EQ(s.v2_mounted, Find(hs, "", true) != nullptr);
  for (const auto& h : hs) {
    if (h.v2) continue;
    for (const auto& c : h.controllers) EXPECT_TRUE(Contains(s.v1_controllers, c)) << c;
  }
  for (const auto& w : s.writable) EXPECT_TRUE(Contains(s.v2_controllers, w) || Contains(s.v1_controllers, w)) << w;
}

}  // namespace
}  // namespace airlock
