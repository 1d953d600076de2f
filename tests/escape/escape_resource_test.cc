// Escape tier, resources (tests/helpers/escape_resource.c): a fork bomb, a memory hog, an inode flood
// and a disk fill each end at the sandbox's bound (EAGAIN, ENOMEM or an OOM kill reported as
// killed-by-limit, ENOSPC), in the default profile, as root and as an ordinary user; the report names
// what enforced each bound (docs/LIMITS.md). Every probe has a control: the same attacker with that
// one bound raised above its target reaches the target (ESCAPED), so the probe can see a missing
// bound. The attacker caps itself at its target, so no control fork-bombs or fills the host.
// Warm variants (EscapeResourceWarm) run the same probes in sandboxes of `airlock pool`.
#include <gtest/gtest.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "escape_util.h"

using namespace airlock::escape;
using airlock::test::RunResult;

namespace {

constexpr const char* kHelper = "escape_resource";

// The built-in default's memory limit on this host: min(25% of RAM, 4 GiB) (policy.h).
uint64_t DefaultMemoryLimit() {
  struct sysinfo si {};
  EXPECT_EQ(sysinfo(&si), 0);
  uint64_t ram = static_cast<uint64_t>(si.totalram) * si.mem_unit;
  return std::min<uint64_t>(ram / 4, uint64_t{4} << 30);
}

struct Reported {
  RunResult run;
  nlohmann::json report;  // an empty object when none was written
};

// The helper in the default profile plus `opts`, with --report.
Reported RunWithReport(const std::string& probe, const std::vector<std::string>& params, std::vector<std::string> opts = {}) {
  std::string dir = airlock::test::MakeTempDir("escape-resource");
  std::string path = dir + "/report.json";
  opts.insert(opts.end(), {"--report", path});
  Reported out{RunInSandbox(kHelper, probe, params, opts), nlohmann::json::object()};
  auto j = nlohmann::json::parse(airlock::test::ReadFileOrEmpty(path), nullptr, false);
  if (j.is_object()) out.report = j;
  unlink(path.c_str());
  rmdir(dir.c_str());
  return out;
}

// "BLOCKED <ERRNO> after <N> <unit>": N.
long CountIn(const ProbeResult& p) {
  auto at = p.detail.find("after ");
  return at == std::string::npos ? -1 : std::stol(p.detail.substr(at + 6));
}

#define EXPECT_BLOCKED_WITH(run, probe, errname)                                              \
  do {                                                                                        \
    EXPECT_PROBE_BLOCKED(run, probe);                                                         \
    EXPECT_EQ(Find(run, probe).detail.rfind(errname " after ", 0), 0u) << Find(run, probe).detail; \
  } while (0)

// ---- what bounds the default profile, and what enforces it ----

TEST(EscapeResource, DefaultProfileReportsEachBoundAndItsEnforcer) {
  auto r = RunWithReport("forkbomb", {"n=1"});
  ASSERT_TRUE(r.report.contains("bounds")) << r.report.dump() << r.run.err;
  const auto& b = r.report["bounds"];
  EXPECT_EQ(b["pids"]["limit"], 1024) << b.dump();
  EXPECT_EQ(b["memory"]["limit"].get<uint64_t>(), DefaultMemoryLimit()) << b.dump();
  const std::string pids_by = b["pids"]["enforced_by"], memory_by = b["memory"]["enforced_by"];
  if (airlock::test::IsRoot()) {  // root may make cgroups (this host: v1 pids and memory)
    EXPECT_TRUE(pids_by == "cgroup v1 pids.max" || pids_by == "cgroup v2 pids.max") << pids_by;
    EXPECT_TRUE(memory_by == "cgroup v1 memory.limit_in_bytes" || memory_by == "cgroup v2 memory.max") << memory_by;
  } else {  // no delegated cgroup here: the unprivileged fallbacks
    EXPECT_EQ(pids_by, "RLIMIT_NPROC");
    EXPECT_EQ(memory_by, "RLIMIT_AS");
    EXPECT_EQ(r.run.err.find("RLIMIT"), std::string::npos) << "default bounds fall back quietly (the report says it): " << r.run.err;
  }
  std::map<std::string, nlohmann::json> tmpfs;
  for (const auto& t : b["tmpfs"]) tmpfs[t["path"]] = t;
  for (const char* path : {"/", "/dev", "/dev/shm", "/tmp", "/home/sandbox"}) {
    ASSERT_TRUE(tmpfs.count(path)) << path << " " << b.dump();
    EXPECT_GT(tmpfs[path]["size_bytes"].get<uint64_t>(), 0u) << path;
    EXPECT_GT(tmpfs[path]["inodes"].get<uint64_t>(), 0u) << path;
  }
  EXPECT_EQ(tmpfs["/tmp"]["size_bytes"], 64u << 20);
  EXPECT_EQ(tmpfs["/tmp"]["inodes"], 65536);
  EXPECT_EQ(tmpfs["/home/sandbox"]["size_bytes"], 256u << 20);
  EXPECT_EQ(tmpfs["/dev/shm"]["inodes"], 65536);
  EXPECT_EQ(tmpfs["/"]["writable"], false);
}

TEST(EscapeResource, UnlimitedIsAReportedWeakening) {
  auto r = RunWithReport("forkbomb", {"n=1"}, {"--pids", "unlimited", "--memory", "unlimited"});
  const auto& b = r.report["bounds"];
  EXPECT_TRUE(b["pids"]["limit"].is_null()) << b.dump() << r.run.err;
  EXPECT_EQ(b["pids"]["enforced_by"], "none");
  EXPECT_EQ(b["memory"]["enforced_by"], "none");
  std::string weakenings = r.report["weakenings"].dump();
  EXPECT_NE(weakenings.find("no process limit"), std::string::npos) << weakenings;
  EXPECT_NE(weakenings.find("no memory limit"), std::string::npos) << weakenings;
}

// ---- fork bomb: EAGAIN at pids.max (root) or RLIMIT_NPROC of the sandbox's user namespace ----

TEST(EscapeResource, ForkBombEndsAtTheDefaultPidsLimit) {
  auto r = RunInSandbox(kHelper, "forkbomb", {"n=1100"});
  EXPECT_BLOCKED_WITH(r, "forkbomb", "EAGAIN");
  long n = CountIn(Find(r, "forkbomb"));
  EXPECT_GT(n, 900) << "the limit is 1024 processes, not fewer";
  EXPECT_LT(n, 1024);
}

// The bound without any cgroup (limits.cgroup = "disabled", what an ordinary user gets here), also as
// root: RLIMIT_NPROC, counted in the sandbox's own user namespace (other processes of the same
// outside uid, such as concurrent tests, do not use it up).
TEST(EscapeResource, ForkBombEndsAtRlimitNprocWithoutACgroup) {
  std::string dir = airlock::test::MakeTempDir("escape-resource-nocg");
  std::string profile = dir + "/nocgroup.toml";
  airlock::test::WriteFile(profile, "include = [\"default\"]\n[limits]\ncgroup = \"disabled\"\n");
  auto r = RunWithReport("forkbomb", {"n=1100"}, {"--profile", profile});
  unlink(profile.c_str());
  rmdir(dir.c_str());
  EXPECT_EQ(r.report["bounds"]["pids"]["enforced_by"], "RLIMIT_NPROC") << r.report.dump() << r.run.err;
  EXPECT_EQ(r.report["bounds"]["memory"]["enforced_by"], "RLIMIT_AS");
  EXPECT_BLOCKED_WITH(r.run, "forkbomb", "EAGAIN");
  EXPECT_GT(CountIn(Find(r.run, "forkbomb")), 900);
  EXPECT_LT(CountIn(Find(r.run, "forkbomb")), 1024);
}

TEST(EscapeResource, ForkBombControlReachesItsTargetWithPidsRaised) {
  EXPECT_PROBE_ESCAPED(RunInSandbox(kHelper, "forkbomb", {"n=1100"}, {"--pids", "2048"}), "forkbomb");
}

// ---- memory hog: an OOM kill in the cgroup (killed-by-limit) or ENOMEM from RLIMIT_AS ----

TEST(EscapeResource, MemoryHogEndsAtTheMemoryLimit) {
  auto r = RunWithReport("memhog", {"mb=256", "direct=1"}, {"--memory", "64m"});
  auto p = Find(r.run, "memhog");
  if (r.report["bounds"]["memory"]["enforced_by"] == "RLIMIT_AS") {
    EXPECT_BLOCKED_WITH(r.run, "memhog", "ENOMEM");
    EXPECT_LT(CountIn(p), 64);
  } else {
    EXPECT_EQ(r.report["reason"], "killed-by-limit") << r.report.dump() << r.run.out;
    EXPECT_EQ(p.status, "") << "the OOM kill ends the hog before it reports: " << p.detail;
    EXPECT_LE(r.report["peak_memory_bytes"].get<uint64_t>(), 64u << 20) << r.report.dump();
  }
}

TEST(EscapeResource, MemoryHogControlReachesItsTargetWithMemoryRaised) {
  EXPECT_PROBE_ESCAPED(RunInSandbox(kHelper, "memhog", {"mb=256"}, {"--memory", "1g"}), "memhog");
}

// ---- inode flood: ENOSPC at the tmpfs's nr_inodes, on every writable tmpfs ----

TEST(EscapeResource, InodeFloodEndsAtTheDefaultInodeLimitOfTmp) {
  auto r = RunInSandbox(kHelper, "inodes", {"n=70000", "dir=/tmp"});
  EXPECT_BLOCKED_WITH(r, "inodes", "ENOSPC");
  EXPECT_GT(CountIn(Find(r, "inodes")), 65000);
}

class EscapeResourceTmpfs : public ::testing::TestWithParam<const char*> {};

// The same bound on /dev/shm, the home directory and a --tmpfs mount (scaled down: 4096 inodes).
TEST_P(EscapeResourceTmpfs, InodeFloodEndsAtTheInodeLimit) {
  auto r = RunInSandbox(kHelper, "inodes", {"n=6000", std::string("dir=") + GetParam()},
                        {"--tmpfs-inodes", "4096", "--tmpfs", "/scratch"});
  EXPECT_BLOCKED_WITH(r, "inodes", "ENOSPC");
  EXPECT_GT(CountIn(Find(r, "inodes")), 4000);
}

// A disk fill of the same filesystems ends at its size: /dev/shm and --tmpfs at their defaults
// (64m; an unsized --tmpfs is as big as /tmp), the home directory scaled down to 32m.
TEST_P(EscapeResourceTmpfs, DiskFillEndsAtTheSizeLimit) {
  auto r = RunInSandbox(kHelper, "diskfill", {"mb=100", std::string("dir=") + GetParam()}, {"--home-size", "32m", "--tmpfs", "/scratch"});
  EXPECT_BLOCKED_WITH(r, "diskfill", "ENOSPC");
  EXPECT_LE(CountIn(Find(r, "diskfill")), 64);
}

INSTANTIATE_TEST_SUITE_P(Mounts, EscapeResourceTmpfs, ::testing::Values("/dev/shm", "/home/sandbox", "/scratch"),
                         [](const auto& p) { return std::string(p.param).substr(std::string(p.param).rfind('/') + 1); });

TEST(EscapeResource, InodeFloodControlReachesItsTargetWithInodesRaised) {
  EXPECT_PROBE_ESCAPED(RunInSandbox(kHelper, "inodes", {"n=6000", "dir=/tmp"}, {"--tmpfs-inodes", "8192"}), "inodes");
}

// ---- disk fill: ENOSPC at the tmpfs's size ----

TEST(EscapeResource, DiskFillEndsAtTheDefaultSizeOfTmp) {
  auto r = RunInSandbox(kHelper, "diskfill", {"mb=100", "dir=/tmp"});
  EXPECT_BLOCKED_WITH(r, "diskfill", "ENOSPC");
  long mib = CountIn(Find(r, "diskfill"));
  EXPECT_GE(mib, 60) << "the limit is 64m, not less";
  EXPECT_LE(mib, 64);
}

TEST(EscapeResource, DiskFillControlReachesItsTargetWithTmpRaised) {
  EXPECT_PROBE_ESCAPED(RunInSandbox(kHelper, "diskfill", {"mb=100", "dir=/tmp"}, {"--tmp-size", "128m"}), "diskfill");
}

// ---- warm: the same probes in sandboxes of `airlock pool` ----

// A pool serving the default profile plus the helpers and `extra` TOML (the default's limits make a
// cgroup per waiting sandbox as root, the rlimit fallback otherwise: the pool must serve both).
class EscapeResourceWarm : public ::testing::Test {
 protected:
  void StartPool(const std::string& extra = "") {
    dir_ = airlock::test::MakeTempDir("escape-resource-pool");
    socket_ = dir_ + "/pool.sock";
    profile_ = dir_ + "/warm.toml";
    airlock::test::WriteFile(profile_, "include = [\"default\"]\n" + extra + "\n[[mount]]\ntype = \"ro-bind\"\nsrc = \"" +
                                           airlock::test::HelperDir() + "\"\ndst = \"/helpers\"\n");
    log_ = dir_ + "/pool.log";
    pool_ = fork();
    if (pool_ == 0) {
      FILE* f = freopen(log_.c_str(), "w", stderr);
      (void)f;
      execl(airlock::test::AirlockBin().c_str(), "airlock", "pool", "-v", "--profile", profile_.c_str(), "--socket",
            socket_.c_str(), "--size", "2", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 500; ++i) {
      std::string log = airlock::test::ReadFileOrEmpty(log_);
      if (log.find("ready after") != std::string::npos) return;
      int st = 0;
      if (waitpid(pool_, &st, WNOHANG) == pool_) {
        pool_ = -1;
        FAIL() << "airlock pool exited: " << log;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "pool not ready: " << airlock::test::ReadFileOrEmpty(log_);
  }
  void TearDown() override {
    if (pool_ > 0) {
      kill(pool_, SIGTERM);
      waitpid(pool_, nullptr, 0);
    }
    unlink(profile_.c_str());
    unlink(log_.c_str());
    rmdir(dir_.c_str());
  }
  RunResult Warm(const std::string& probe, const std::vector<std::string>& params, const std::vector<std::string>& opts = {}) {
    std::vector<std::string> argv = {airlock::test::AirlockBin(), "run", "--profile", profile_, "--pool", "required"};
    argv.insert(argv.end(), opts.begin(), opts.end());
    argv.insert(argv.end(), {"--", "/helpers/escape_resource", probe});
    argv.insert(argv.end(), params.begin(), params.end());
    setenv("AIRLOCK_POOL_SOCKET", socket_.c_str(), 1);
    auto r = airlock::test::Run(argv, "", 120);
    unsetenv("AIRLOCK_POOL_SOCKET");
    return r;
  }

  std::string dir_, socket_, profile_, log_;
  pid_t pool_ = -1;
};

// A warm run's report names the same bounds and enforcers as a cold run of the same policy.
TEST_F(EscapeResourceWarm, WarmReportNamesTheSameBoundsAsCold) {
  StartPool();
  ASSERT_FALSE(HasFatalFailure());
  std::string path = dir_ + "/warm-report.json";
  auto r = Warm("forkbomb", {"n=1"}, {"--report", path});
  auto warm = nlohmann::json::parse(airlock::test::ReadFileOrEmpty(path), nullptr, false);
  unlink(path.c_str());
  ASSERT_TRUE(warm.is_object()) << r.err;
  EXPECT_EQ(warm.value("launch", ""), "warm") << warm.dump();
  ASSERT_TRUE(warm.contains("bounds")) << warm.dump();
  auto c = airlock::test::Run({airlock::test::AirlockBin(), "run", "--profile", profile_, "--pool", "off", "--report", path, "--",
                               "/bin/true"}, "", 60);
  auto cold = nlohmann::json::parse(airlock::test::ReadFileOrEmpty(path), nullptr, false);
  unlink(path.c_str());
  ASSERT_TRUE(cold.is_object()) << c.err;
  EXPECT_EQ(warm["bounds"], cold["bounds"]);
  EXPECT_EQ(warm["bounds"]["pids"]["limit"], 1024);
}

TEST_F(EscapeResourceWarm, ForkBombEndsAtTheDefaultPidsLimit) {
  StartPool();
  if (IsSkipped()) return;
  auto r = Warm("forkbomb", {"n=1100"});
  EXPECT_BLOCKED_WITH(r, "forkbomb", "EAGAIN");
  EXPECT_LT(CountIn(Find(r, "forkbomb")), 1024);
}

TEST_F(EscapeResourceWarm, MemoryHogEndsAtTheMemoryLimit) {
  StartPool("[limits]\nmemory = \"64m\"\n");
  if (IsSkipped()) return;
  auto r = Warm("memhog", {"mb=256"});
  EXPECT_PROBE_BLOCKED(r, "memhog");
}

TEST_F(EscapeResourceWarm, InodeFloodAndDiskFillEndAtTheTmpfsLimits) {
  StartPool();
  if (IsSkipped()) return;
  auto r = Warm("inodes", {"n=70000", "dir=/tmp"});
  EXPECT_BLOCKED_WITH(r, "inodes", "ENOSPC");
  r = Warm("diskfill", {"mb=100", "dir=/tmp"});
  EXPECT_BLOCKED_WITH(r, "diskfill", "ENOSPC");
}

}  // namespace
