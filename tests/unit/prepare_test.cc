// Run preparation in the parent (src/sandbox/prepare.h): the environment (allow-list, then the policy's
// variables, then identity), where execve looks for the command, the clone flags and the layer list
// that follow from the policy, argv/envp as NULL-terminated arrays, and --pass-fd checks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/prepare.h"

using namespace airlock;

namespace {

IdMapping Ids(uid_t inside) {
  IdMapping ids;
  ids.inside_uid = inside;
  ids.inside_gid = inside;
  ids.outside_uid = ids.outside_gid = 65534;
  return ids;
}

bool Has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

bool HasPrefix(const std::vector<std::string>& v, const std::string& prefix) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
}

const LayerStatus* Layer(const PreparedRun& run, const std::string& name) {
  for (const auto& l : run.layers)
    if (l.name == name) return &l;
  return nullptr;
}

constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

// Sets variables for one test and restores the previous values after it.
class EnvGuard {
 public:
  void Set(const char* name, const char* value) {
    const char* old = ::getenv(name);
    saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~EnvGuard() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) ::setenv(it->first.c_str(), it->second->c_str(), 1);
      else ::unsetenv(it->first.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace

TEST(BuildEnvironment, KeepsOnlyTheAllowListThenPolicyThenIdentity) {
  EnvGuard env;
  env.Set("TERM", "xterm-test");
  env.Set("AIRLOCK_TEST_SECRET", "hunter2");
  env.Set("PATH", "/usr/sbin:/usr/bin");
  Policy p;  // env_keep: PATH TERM LANG LC_ALL TZ
  p.mounts.push_back({MountEntry::Kind::kRoBind, "/usr", "/usr", 0, false, "test"});
  p.env_set["FOO"] = "bar";
  std::vector<std::string> e = BuildEnvironment(p, Ids(0));
  EXPECT_TRUE(Has(e, "TERM=xterm-test"));
  EXPECT_TRUE(Has(e, "PATH=/usr/sbin:/usr/bin")) << "a kept PATH is not replaced by the default";
  EXPECT_FALSE(HasPrefix(e, "AIRLOCK_TEST_SECRET=")) << "not on the allow-list";
  EXPECT_TRUE(Has(e, "FOO=bar"));
  EXPECT_TRUE(Has(e, "HOME=/home/sandbox"));
  EXPECT_TRUE(Has(e, "USER=root"));
  EXPECT_TRUE(Has(e, "LOGNAME=root"));
  EXPECT_TRUE(std::is_sorted(e.begin(), e.end())) << "one entry per name, in name order";

  std::vector<std::string> u = BuildEnvironment(p, Ids(1000));
  EXPECT_TRUE(Has(u, "USER=sandbox"));
  EXPECT_TRUE(Has(u, "LOGNAME=sandbox"));
}

// The host's PATH keeps only what exists inside: no host paths in the sandbox's environment, no
// lookups in directories that are not there.
TEST(BuildEnvironment, HostPathKeepsOnlyDirectoriesThatExistInside) {
  EnvGuard env;
  env.Set("PATH", "/root/.cargo/bin:/usr/local/bin:/usr/bin:/nonexistent/airlock:relative/bin:/home/sandbox:/bin");
  Policy p;
  p.mounts.push_back({MountEntry::Kind::kRoBind, "/usr", "/usr", 0, false, "test"});
  std::vector<std::string> e = BuildEnvironment(p, Ids(0));
  std::string want = "PATH=";
  for (const char* dir : {"/usr/local/bin", "/usr/bin"})
    if (::access(dir, F_OK) == 0) want += std::string(want.size() > 5 ? ":" : "") + dir;
  want += ":relative/bin:/home/sandbox";  // relative entries name no host path; home is a tmpfs inside
  EXPECT_TRUE(Has(e, want)) << "want " << want << ", got " << ::testing::PrintToString(e);
  // Nothing left of it: the default PATH.
  env.Set("PATH", "/root/.cargo/bin:/nonexistent/airlock");
  EXPECT_TRUE(Has(BuildEnvironment(p, Ids(0)), std::string("PATH=") + kDefaultPath));
  // A PATH the policy sets is taken as given.
  p.env_set["PATH"] = "/opt/tools:/usr/bin";
  EXPECT_TRUE(Has(BuildEnvironment(p, Ids(0)), "PATH=/opt/tools:/usr/bin"));
}

TEST(BuildEnvironment, PolicyVariablesOverrideKeptAndIdentityOnes) {
  EnvGuard env;
  env.Set("TERM", "xterm-test");
  Policy p;
  p.home = "/work";
  p.env_set = {{"TERM", "dumb"}, {"USER", "builder"}, {"HOME", "/elsewhere"}};
  std::vector<std::string> e = BuildEnvironment(p, Ids(0));
  EXPECT_TRUE(Has(e, "TERM=dumb"));
  EXPECT_FALSE(Has(e, "TERM=xterm-test"));
  EXPECT_TRUE(Has(e, "USER=builder"));
  EXPECT_TRUE(Has(e, "HOME=/elsewhere"));
  EXPECT_TRUE(Has(e, "LOGNAME=root"));
}

TEST(BuildEnvironment, EmptyAllowListClearsTheHostAndAddsADefaultPath) {
  EnvGuard env;
  env.Set("PATH", "/host/only");
  env.Set("TERM", "xterm-test");
  Policy p;
  p.env_keep.clear();
  std::vector<std::string> e = BuildEnvironment(p, Ids(0));
  EXPECT_EQ(e, (std::vector<std::string>{"HOME=/home/sandbox", "LOGNAME=root", std::string("PATH=") + kDefaultPath,
                                         "USER=root"}));
}

TEST(ExecCandidates, ASlashMeansThatPathOnly) {
  EXPECT_EQ(ExecCandidates("/bin/sh", {"PATH=/a:/b"}), std::vector<std::string>{"/bin/sh"});
  EXPECT_EQ(ExecCandidates("./run.sh", {"PATH=/a"}), std::vector<std::string>{"./run.sh"});
  EXPECT_EQ(ExecCandidates("sub/tool", {}), std::vector<std::string>{"sub/tool"});
}

TEST(ExecCandidates, EachPathEntryInOrder) {
  EXPECT_EQ(ExecCandidates("ls", {"HOME=/h", "PATH=/opt/bin:/usr/bin"}), (std::vector<std::string>{"/opt/bin/ls", "/usr/bin/ls"}));
  // Empty entries mean the current directory, as in execvp.
  EXPECT_EQ(ExecCandidates("ls", {"PATH=/a::/b:"}), (std::vector<std::string>{"/a/ls", "./ls", "/b/ls", "./ls"}));
  // Only "PATH=" itself counts, not a variable that merely starts with PATH.
  EXPECT_EQ(ExecCandidates("ls", {"PATHX=/wrong", "PATH=/right"}), std::vector<std::string>{"/right/ls"});
}

TEST(ExecCandidates, DefaultPathWithoutAPathVariable) {
  std::vector<std::string> c = ExecCandidates("sh", {"HOME=/h"});
  EXPECT_EQ(c, (std::vector<std::string>{"/usr/local/bin/sh", "/usr/bin/sh", "/bin/sh", "/usr/local/sbin/sh",
                                         "/usr/sbin/sh", "/sbin/sh"}));
}

TEST(PrepareRun, NoCommandIsAnError) {
  auto run = PrepareRun(Policy{}, {}, RunOptions{});
  ASSERT_FALSE(run);
  EXPECT_NE(run.error().What().find("no command"), std::string::npos);
}

TEST(PrepareRun, DefaultPolicyUnsharesEverythingAndWeakensNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED: the default identity plan maps root to 65534 (root only)";
  auto run = PrepareRun(Policy{}, {"echo", "hello world"}, RunOptions{});
  ASSERT_TRUE(run) << run.error().What();
  EXPECT_EQ(run->clone_flags, static_cast<unsigned long>(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
                                                         CLONE_NEWUTS | CLONE_NEWNET));
  EXPECT_TRUE(run->net_loopback);
  EXPECT_TRUE(run->unshare_cgroup);
  EXPECT_FALSE(run->unshare_time);
  EXPECT_TRUE(run->weakenings.empty()) << run->weakenings.front();
  EXPECT_TRUE(run->seccomp.has_value());
  EXPECT_EQ(run->hostname, "airlock");
  EXPECT_EQ(run->chdir, "/home/sandbox");
  for (const char* name : {"user-namespace", "mount-namespace", "pid-namespace", "ipc-namespace", "uts-namespace",
                           "net-namespace", "cgroup-namespace", "seccomp", "capabilities", "no-new-privs", "new-session",
                           "session-keyring", "user-counters"}) {
    const LayerStatus* l = Layer(*run, name);
    ASSERT_TRUE(l) << name;
    EXPECT_TRUE(l->engaged) << name;
  }
  EXPECT_TRUE(Layer(*run, "landlock")) << "engaged or not, landlock is always listed";
  EXPECT_EQ(Layer(*run, "time-namespace"), nullptr);
  EXPECT_EQ(Layer(*run, "user-namespace")->detail, "inside 0:0 -> outside 65534:65534");
  EXPECT_EQ(Layer(*run, "uts-namespace")->detail, "hostname airlock");
}

TEST(PrepareRun, ArgvAndEnvpAreNullTerminatedViewsOfTheirStorage) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED: root only (default identity plan)";
  Policy p;
  p.env_keep.clear();
  p.env_set["PATH"] = "/opt/tools:/bin";
  auto run = PrepareRun(p, {"tool", "--flag", ""}, RunOptions{});
  ASSERT_TRUE(run) << run.error().What();
  ASSERT_EQ(run->argv.size(), 4u);
  EXPECT_EQ(run->argv.back(), nullptr);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(run->argv[i], run->argv_storage[i].data());
  }
  EXPECT_STREQ(run->argv[1], "--flag");
  EXPECT_STREQ(run->argv[2], "");
  ASSERT_EQ(run->envp.size(), run->env_storage.size() + 1);
  EXPECT_EQ(run->envp.back(), nullptr);
  EXPECT_TRUE(Has(run->env_storage, "PATH=/opt/tools:/bin"));
  EXPECT_EQ(run->exec_candidates, (std::vector<std::string>{"/opt/tools/tool", "/bin/tool"}));
}

TEST(PrepareRun, WeakeningsFollowThePolicy) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED: root only (default identity plan)";
  Policy p;
  p.net.mode = NetMode::kHost;
  p.ns.pid = false;
  p.ns.ipc = false;
  p.ns.uts = false;
  p.ns.time = true;
  p.seccomp.requirement = Requirement::kDisabled;
  p.landlock.requirement = Requirement::kDisabled;
  p.chdir = "/srv";
  auto run = PrepareRun(p, {"true"}, RunOptions{});
  ASSERT_TRUE(run) << run.error().What();
  EXPECT_EQ(run->clone_flags, static_cast<unsigned long>(CLONE_NEWUSER | CLONE_NEWNS));
  EXPECT_FALSE(run->net_loopback);
  EXPECT_TRUE(run->unshare_time);
  EXPECT_FALSE(run->seccomp.has_value());
  EXPECT_EQ(run->chdir, "/srv");
  for (const char* w : {"network: host network namespace shared (--net host)", "namespaces.pid = false: host pid namespace shared",
                        "namespaces.ipc = false: host IPC namespace shared", "namespaces.uts = false: host UTS namespace shared",
                        "seccomp disabled", "landlock disabled"}) {
    EXPECT_TRUE(Has(run->weakenings, w)) << w;
  }
  EXPECT_FALSE(Layer(*run, "seccomp")->engaged);
  EXPECT_EQ(Layer(*run, "seccomp")->detail, "disabled by profile");
  EXPECT_FALSE(Layer(*run, "landlock")->engaged);
  EXPECT_EQ(Layer(*run, "landlock")->detail, "disabled by profile");
  EXPECT_FALSE(Layer(*run, "pid-namespace")->engaged);
  EXPECT_FALSE(Layer(*run, "net-namespace")->engaged);
  ASSERT_TRUE(Layer(*run, "time-namespace"));
  EXPECT_TRUE(Layer(*run, "time-namespace")->engaged);
}

TEST(PrepareRun, MountPlanErrorsCarryTheFilesystemContext) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED: root only (default identity plan)";
  Policy p;
  MountEntry e;
  e.kind = MountEntry::Kind::kTmpfs;
  e.dst = "relative";
  p.mounts.push_back(e);
  auto run = PrepareRun(p, {"true"}, RunOptions{});
  ASSERT_FALSE(run);
  EXPECT_NE(run.error().What().find("filesystem"), std::string::npos) << run.error().What();
}

TEST(PrepareRun, PassFdsAreCheckedAndSorted) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED: root only (default identity plan)";
  int a = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int b = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GT(a, 2);
  ASSERT_GT(b, a);
  Policy p;
  p.pass_fds = {b, a};
  auto run = PrepareRun(p, {"true"}, RunOptions{});
  ASSERT_TRUE(run) << run.error().What();
  EXPECT_EQ(run->pass_fds, (std::vector<int>{a, b}));

  p.pass_fds = {2};
  auto stdio = PrepareRun(p, {"true"}, RunOptions{});
  ASSERT_FALSE(stdio);
  EXPECT_NE(stdio.error().What().find("stdio is always passed"), std::string::npos);

  ::close(b);
  p.pass_fds = {a, b};
  auto closed = PrepareRun(p, {"true"}, RunOptions{});
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().err(), EBADF);
  ::close(a);
}

// The sandbox's share of its owner's per-user counters: the knobs go to the mount plan (written by
// init through its fresh /proc), nesting only when the filter lets the payload create namespaces.
TEST(PrepareRun, PerUserCounterSharesAreWrittenByInit) {
  auto run = PrepareRun(Policy{}, {"true"}, RunOptions{});
  ASSERT_TRUE(run) << run.error().What();
  auto value = [&](const PreparedRun& r, const std::string& knob) -> std::string {
    for (const auto& w : r.mounts.proc_sys_writes)
      if (w.path == "user/" + knob) return w.value;
    return "absent";
  };
  EXPECT_EQ(value(*run, "max_user_namespaces"), "0");
  EXPECT_EQ(value(*run, "max_net_namespaces"), "0");
  EXPECT_EQ(value(*run, "max_mnt_namespaces"), "0");
  EXPECT_EQ(value(*run, "max_fanotify_groups"), "0");
  EXPECT_NE(value(*run, "max_inotify_instances"), "absent");
  EXPECT_NE(value(*run, "max_inotify_watches"), "absent");
  EXPECT_TRUE(run->title.end > run->title.start) << "airlock's argv area, for init to overwrite";
  Policy nesting;
  nesting.seccomp.allow = {"@namespaces"};
  auto nested = PrepareRun(nesting, {"true"}, RunOptions{});
  ASSERT_TRUE(nested) << nested.error().What();
  EXPECT_EQ(value(*nested, "max_user_namespaces"), "16");
  EXPECT_EQ(value(*nested, "max_mnt_namespaces"), "16");
}
