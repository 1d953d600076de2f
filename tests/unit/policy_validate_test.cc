// ValidatePolicy: each class of problem is reported, all problems are collected; ExplainPolicy shows
// every layer and flags weakenings.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "policy/policy.h"
#include "policy/profile_loader.h"

namespace airlock {
namespace {

#define EXPECT_HAS(text, sub) \
  EXPECT_NE((text).find(sub), std::string::npos) << "missing: " << (sub) << "\nin:\n" << (text)
#define EXPECT_LACKS(text, sub) \
  EXPECT_EQ((text).find(sub), std::string::npos) << "unexpected: " << (sub) << "\nin:\n" << (text)

MountEntry Mount(MountEntry::Kind kind, std::string src, std::string dst) {
  MountEntry m;
  m.kind = kind;
  m.src = std::move(src);
  m.dst = std::move(dst);
  return m;
}

std::string Problems(const Policy& p) {
  auto s = ValidatePolicy(p);
  return s ? std::string() : s.error().message();
}

TEST(ValidatePolicy, DefaultConstructedPolicyIsValid) { EXPECT_TRUE(ValidatePolicy(Policy{})); }

TEST(ValidatePolicy, MountDestinations) {
  Policy p;
  p.mounts.push_back(Mount(MountEntry::Kind::kRoBind, "/usr", "usr"));
  p.mounts.push_back(Mount(MountEntry::Kind::kRoBind, "/opt", "/opt/../etc"));
  p.mounts.push_back(Mount(MountEntry::Kind::kBind, "relative/src", "/data"));
  p.mounts.push_back(Mount(MountEntry::Kind::kTmpfs, "", ""));
  p.mounts.push_back(Mount(MountEntry::Kind::kBind, "/", "//"));
  std::string msg = Problems(p);
  EXPECT_HAS(msg, "'usr'");
  EXPECT_HAS(msg, "is relative");
  EXPECT_HAS(msg, "contains '..'");
  EXPECT_HAS(msg, "source 'relative/src' must be an absolute host path");
  EXPECT_HAS(msg, "destination is empty");
  EXPECT_HAS(msg, "bind '//': destination is / (the root is built by airlock)");
}

TEST(ValidatePolicy, DuplicateDestinationIgnoresSlashSpelling) {
  Policy p;
  p.mounts.push_back(Mount(MountEntry::Kind::kRoBind, "/usr", "/usr"));
  p.mounts.push_back(Mount(MountEntry::Kind::kTmpfs, "", "//usr/"));
  p.mounts.back().origin = "profile x line 7";
  EXPECT_HAS(Problems(p), "tmpfs '//usr/' (profile x line 7): duplicate destination");
  p.mounts.back().dst = "/usr/share";
  EXPECT_TRUE(ValidatePolicy(p));
}

TEST(ValidatePolicy, LimitsAndTmpSize) {
  Policy p;
  p.tmp_size = "0";
  p.limits.cpus = 0;
  p.limits.pids = 0;
  p.limits.memory_bytes = 0;
  std::string msg = Problems(p);
  EXPECT_HAS(msg, "tmp_size must be > 0");
  EXPECT_HAS(msg, "cpus must be a positive number");
  EXPECT_HAS(msg, "pids must be > 0");
  EXPECT_HAS(msg, "memory must be > 0");

  Policy q;
  q.limits.cpus = -1.5;
  EXPECT_HAS(Problems(q), "cpus");
  q.limits.cpus = std::nan("");
  EXPECT_HAS(Problems(q), "cpus");
  q.limits.cpus = 0.25;
  EXPECT_TRUE(ValidatePolicy(q));
  q.tmp_size = "lots";
  EXPECT_HAS(Problems(q), "filesystem.tmp_size");
  q.tmp_size = "";
  EXPECT_HAS(Problems(q), "filesystem.tmp_size: empty size");
  q.tmp_size = "1m";
  q.home = "";
  EXPECT_TRUE(ValidatePolicy(q));
  q.home = "home";
  EXPECT_HAS(Problems(q), "filesystem.home is relative");
}

TEST(ValidatePolicy, TmpfsBoundsAndCgroupDisabled) {
  Policy p;
  p.shm_size = "0";
  p.home_size = "big";
  p.tmpfs_inodes = 0;
  std::string msg = Problems(p);
  EXPECT_HAS(msg, "filesystem.shm_size must be > 0");
  EXPECT_HAS(msg, "filesystem.home_size: bad size 'big'");
  EXPECT_HAS(msg, "filesystem.tmpfs_inodes must be > 0");

  // "disabled" never makes a cgroup: memory and pids fall back to rlimits, a CPU share cannot.
  Policy q;
  q.limits.cgroup = Requirement::kDisabled;
  EXPECT_TRUE(ValidatePolicy(q));  // the default bounds (memory, pids) are set
  q.limits.cpus = 0.5;
  EXPECT_HAS(Problems(q), "limits.cgroup is disabled but limits.cpus is set");
}

TEST(ValidatePolicy, NetworkConsistency) {
  Policy p;
  p.net.allow = {"example.org:443"};
  EXPECT_HAS(Problems(p), "network.allow needs network.mode = \"user\"");
  p.net.mode = NetMode::kUser;
  EXPECT_TRUE(ValidatePolicy(p));
  p.net.allow.push_back("10.0.0.0/8:99999");
  EXPECT_HAS(Problems(p), "bad destination '10.0.0.0/8:99999'");

  Policy host;
  host.net.mode = NetMode::kHost;
  EXPECT_HAS(Problems(host), "needs namespaces.net = false");
  host.ns.net = false;
  EXPECT_TRUE(ValidatePolicy(host));

  Policy shared;
  shared.ns.net = false;
  EXPECT_HAS(Problems(shared), "namespaces.net = false shares the host network");
}

TEST(ValidatePolicy, SeccompLandlockAndProcess) {
  Policy p;
  p.seccomp.requirement = Requirement::kDisabled;
  p.seccomp.allow = {"@ptrace"};
  p.landlock.min_abi = 7;
  p.pass_fds = {1, 5};
  p.ns.mount = false;
  p.env_keep.push_back("A=B");
  std::string msg = Problems(p);
  EXPECT_HAS(msg, "seccomp.mode = \"disabled\" but seccomp.allow/deny are set");
  EXPECT_HAS(msg, "landlock.min_abi must be between 1 and 6 (got 7)");
  EXPECT_HAS(msg, "pass_fds: 1");
  EXPECT_LACKS(msg, "pass_fds: 5");
  EXPECT_HAS(msg, "namespaces.mount cannot be disabled");
  EXPECT_HAS(msg, "bad variable name 'A=B'");
  // All problems in one error, one per line.
  EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 5);
}

TEST(ValidatePolicy, RlimitsAndHostname) {
  Policy p;
  p.limits.rlimits.push_back({"nofile", 10, 5});
  p.limits.rlimits.push_back({"bogus", 1, 1});
  p.ns.uts = false;
  std::string msg = Problems(p);
  EXPECT_HAS(msg, "soft limit above hard limit");
  EXPECT_HAS(msg, "unknown resource 'bogus'");
  EXPECT_HAS(msg, "namespaces.uts = false");
  p.limits.rlimits = {{"nofile", 5, 10}};
  p.hostname = "";
  EXPECT_TRUE(ValidatePolicy(p));
}

TEST(ValidatePolicy, NestedUsernsNeedsUserNamespace) {
  Policy p;
  p.allow_nested_userns = true;
  EXPECT_TRUE(ValidatePolicy(p));
  p.ns.user = false;
  EXPECT_HAS(Problems(p), "weaken.nested_userns needs namespaces.user = true");
}

TEST(Names, Enums) {
  EXPECT_STREQ(RequirementName(Requirement::kRequired), "required");
  EXPECT_STREQ(RequirementName(Requirement::kBestEffort), "best-effort");
  EXPECT_STREQ(RequirementName(Requirement::kDisabled), "disabled");
  EXPECT_STREQ(NetModeName(NetMode::kNone), "none");
  EXPECT_STREQ(NetModeName(NetMode::kHost), "host");
  EXPECT_STREQ(NetModeName(NetMode::kUser), "user");
}

TEST(ExplainPolicy, DefaultProfileHasEveryLayerAndNoWeakening) {
  auto p = LoadProfile("default", "/");
  ASSERT_TRUE(p) << p.error().What();
  std::string text = ExplainPolicy(*p);
  for (const char* section : {"[namespaces]", "[identity]", "[filesystem]", "[process]", "[seccomp]", "[landlock]",
                              "[network]", "[limits]"}) {
    EXPECT_HAS(text, section);
  }
  EXPECT_HAS(text, "ro  bind    /usr <- /usr");
  EXPECT_HAS(text, "ro  bind    /etc/ssl <- /etc/ssl  (optional)");
  EXPECT_HAS(text, "0 weakening(s)");
  EXPECT_LACKS(text, "WEAKENED:");
}

TEST(ExplainPolicy, FlagsWeakenings) {
  Policy p;
  p.ns.pid = false;
  p.seccomp.requirement = Requirement::kDisabled;
  p.landlock.requirement = Requirement::kDisabled;
  p.allow_nested_userns = true;
  p.net.mode = NetMode::kHost;
  p.ns.net = false;
  p.mounts.push_back(Mount(MountEntry::Kind::kBind, "/home/me/src", "/src"));
  std::string text = ExplainPolicy(p);
  EXPECT_HAS(text, "WEAKENED: pid namespace shared with the host");
  EXPECT_HAS(text, "WEAKENED: net namespace shared with the host");
  EXPECT_HAS(text, "WEAKENED: seccomp filter disabled");
  EXPECT_HAS(text, "WEAKENED: landlock disabled");
  EXPECT_HAS(text, "WEAKENED: nested user namespaces allowed");
  EXPECT_HAS(text, "WEAKENED: host network shared");
  EXPECT_HAS(text, "WEAKENED: host path /home/me/src is writable inside at /src");
  EXPECT_HAS(text, "7 weakening(s)");
}

TEST(ExplainPolicy, SeccompDeltasAndLimits) {
  auto p = LoadProfile("analysis", "/");
  ASSERT_TRUE(p) << p.error().What();
  p->seccomp.allow = {"@ptrace"};
  p->seccomp.deny = {"@mount"};
  std::string text = ExplainPolicy(*p);
  EXPECT_HAS(text, "@ptrace");
  EXPECT_HAS(text, "@mount");
  EXPECT_HAS(text, "WEAKENED: seccomp allows back @ptrace");
  EXPECT_HAS(text, "1g");
  EXPECT_HAS(text, "120000ms");
  EXPECT_HAS(text, "soft 0 hard 0");
}

}  // namespace
}  // namespace airlock
