// Escape tier, host facts (tests/helpers/escape_hostinfo.c): what the default profile hides of its host
// (docs/SECURITY.md, "What a sandbox can still learn about its host"): the kernel command line,
// symbols, interrupts, devices, partitions, keys, ACPI and firmware tables, the boot id, airlock's own
// command line as init's, and host PATH entries. Each probe runs in a sandbox (BLOCKED: masked) and on
// the host as its control (ESCAPED: the probe can see the fact), as root and as a user; a fact this
// host does not show to the test process (absent from this kernel, or root-only) skips its control
// with the reason. The warm variant runs the same probes through `airlock pool`.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "escape_pool.h"
#include "escape_util.h"

using namespace airlock::escape;

namespace {

struct Fact {
  const char* probe;
  bool needs_sys = false;  // the fact is in /sys: the sandbox gets the host's /sys read-only
};

std::vector<std::string> OptsFor(const Fact& f) {
  if (f.needs_sys) return {"--ro-bind", "/sys", "/sys"};
  return {};
}

const Fact kFacts[] = {{"proc_cmdline"}, {"kallsyms"},  {"timer_list"},  {"sched_debug"}, {"proc_keys"},
                       {"key_users"},    {"interrupts"}, {"softirqs"},    {"config_gz"},   {"modules"},
                       {"iomem"},        {"ioports"},    {"partitions"},  {"diskstats"},   {"swaps"},
                       {"devices"},      {"misc"},       {"consoles"},    {"buddyinfo"},   {"zoneinfo"},
                       {"dma"},          {"proc_acpi"},  {"proc_bus"},    {"proc_driver"}, {"proc_scsi"},
                       {"proc_asound"},  {"sys_firmware", true}, {"sys_dmi", true}, {"sys_powercap", true}};

class EscapeHostInfo : public ::testing::TestWithParam<Fact> {};

TEST_P(EscapeHostInfo, FactIsMasked) {
  const Fact& f = GetParam();
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_hostinfo", f.probe, {}, OptsFor(f)), f.probe);
  auto host = RunOnHost("escape_hostinfo", f.probe);
  auto control = Find(host, f.probe);
  if (control.status != "ESCAPED") GTEST_SKIP() << "control: this host does not show " << f.probe << " here: " << control.detail;
}

INSTANTIATE_TEST_SUITE_P(Facts, EscapeHostInfo, ::testing::ValuesIn(kFacts),
                         [](const auto& p) { return std::string(p.param.probe); });

std::string HostBootId() {
  std::string id = airlock::test::ReadFileOrEmpty("/proc/sys/kernel/random/boot_id");
  while (!id.empty() && id.back() == '\n') id.pop_back();
  return id;
}

TEST(EscapeHostFacts, BootIdIsTheSandboxsOwn) {
  std::vector<std::string> params = {"bootid=" + HostBootId()};
  ASSERT_GT(params[0].size(), 7u);
  auto in = RunInSandbox("escape_hostinfo", "boot_id", params);
  EXPECT_PROBE_BLOCKED(in, "boot_id");
  EXPECT_EQ(Find(in, "boot_id").detail, "a boot id of its own");
  EXPECT_PROBE_ESCAPED(RunOnHost("escape_hostinfo", "boot_id", params), "boot_id");
}

// A process on the host whose command line holds `marker` (the control for init_cmdline).
class MarkedSleeper {
 public:
  explicit MarkedSleeper(const std::string& marker) {
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);  // killed as a group: the shell and its sleep
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      // The shell stays (its command does not end in the sleep), with the marker as its $0.
      execl("/bin/sh", "sh", "-c", "sleep 300; exit 0", marker.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Until the shell runs: a command line read while the child is still in execve is empty.
    for (int i = 0; i < 500; ++i) {
      std::ifstream in("/proc/" + std::to_string(pid_) + "/cmdline", std::ios::binary);
      std::string cmdline((std::istreambuf_iterator<char>(in)), {});
      if (cmdline.find(marker) != std::string::npos) break;
      usleep(10000);
    }
  }
  ~MarkedSleeper() {
    kill(-pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

TEST(EscapeHostFacts, InitCommandLineShowsNothingOfTheHost) {
  const std::string marker = "airlock-mark-" + std::to_string(getpid());
  auto in = RunInSandbox("escape_hostinfo", "init_cmdline", {"marker=" + marker},
                         {"--setenv", "AIRLOCK_ESCAPE_MARK=" + marker});
  EXPECT_PROBE_BLOCKED(in, "init_cmdline");
  EXPECT_NE(Find(in, "init_cmdline").detail.find("airlock-init"), std::string::npos) << in.out;
  // Control: a host process whose command line holds the marker is seen as such.
  MarkedSleeper sleeper(marker);
  auto host = RunOnHost("escape_hostinfo", "init_cmdline", {"marker=" + marker, "pid=" + std::to_string(sleeper.pid())});
  EXPECT_PROBE_ESCAPED(host, "init_cmdline");
}

// PATH: the caller's PATH with a directory that exists only on the host.
TEST(EscapeHostFacts, HostOnlyPathEntriesAreDropped) {
  std::string dir = airlock::test::MakeTempDir("escape-path");
  const char* old = getenv("PATH");
  std::string saved = old ? old : "";
  setenv("PATH", (dir + ":" + saved).c_str(), 1);
  auto in = RunInSandbox("escape_hostinfo", "path");
  setenv("PATH", (saved + ":/nonexistent-airlock-escape-dir").c_str(), 1);
  auto host = RunOnHost("escape_hostinfo", "path");
  setenv("PATH", saved.c_str(), 1);
  rmdir(dir.c_str());
  EXPECT_PROBE_BLOCKED(in, "path");
  EXPECT_EQ(in.out.find(dir), std::string::npos);
  EXPECT_PROBE_ESCAPED(host, "path");
}

// The same through a warm sandbox: its init was cloned from `airlock pool` (whose command line names
// the pool's socket and profile), and the client builds the environment.
TEST(EscapeHostFactsWarm, MaskedCommandLineBootIdAndPath) {
  WarmPool pool;
  ASSERT_TRUE(pool.Ready()) << pool.Log();
  const std::string marker = "airlock-mark-" + std::to_string(getpid());
  for (const char* probe : {"proc_cmdline", "kallsyms", "interrupts", "proc_acpi", "proc_bus"}) {
    EXPECT_PROBE_BLOCKED(pool.Run("escape_hostinfo", probe), probe);
  }
  auto boot = pool.Run("escape_hostinfo", "boot_id", {"bootid=" + HostBootId()});
  EXPECT_PROBE_BLOCKED(boot, "boot_id");
  auto init = pool.Run("escape_hostinfo", "init_cmdline", {"marker=" + marker});
  EXPECT_PROBE_BLOCKED(init, "init_cmdline");
  EXPECT_EQ(init.out.find(pool.socket()), std::string::npos);
  std::string dir = airlock::test::MakeTempDir("escape-path");
  const char* old = getenv("PATH");
  std::string saved = old ? old : "";
  setenv("PATH", (dir + ":" + saved).c_str(), 1);
  auto path = pool.Run("escape_hostinfo", "path");
  setenv("PATH", saved.c_str(), 1);
  rmdir(dir.c_str());
  EXPECT_PROBE_BLOCKED(path, "path");
  EXPECT_NE(pool.Log().find("serves pid"), std::string::npos) << "the runs were not served warm: " << pool.Log();
}

}  // namespace
