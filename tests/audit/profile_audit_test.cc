// Grading of airlock profiles: the built-ins, a deliberately weak profile file, and single checks on
// policies built in code.
#include <gtest/gtest.h>

#include "audit/profile_audit.h"
#include "audit_test_util.h"
#include "policy/profile_loader.h"

namespace airlock::audit {
namespace {

using test::DataPath;
using test::FindAll;
using test::HasFinding;
using test::Worst;

constexpr const char* kCwd = "/srv/project";  // workdir binds resolve here (never a sensitive path)

TargetReport Builtin(const std::string& name) {
  auto r = AuditProfile(name, kCwd);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().What());
  return r ? *r : TargetReport{};
}

TEST(AuditProfiles, DefaultIsAWithNothingAboveLow) {
  TargetReport r = Builtin("default");
  EXPECT_EQ(r.grade, "A");
  EXPECT_GE(r.score, 90);
  EXPECT_GE(Worst(r), Severity::kLow) << r.findings.front().id;
  EXPECT_EQ(r.kind, TargetKind::kProfile);
  // Capabilities are always dropped by airlock: recorded as a pass, not a finding.
  bool caps_pass = false;
  for (const Pass& p : r.passes) caps_pass |= p.id == "PRF-CAPS";
  EXPECT_TRUE(caps_pass);
  // Landlock best-effort is noted, with the line of the built-in source.
  auto ll = FindAll(r, "PRF-LANDLOCK-BEST-EFFORT");
  ASSERT_EQ(ll.size(), 1u);
  EXPECT_EQ(ll[0].severity, Severity::kInfo);
  EXPECT_NE(ll[0].evidence.find("builtin/default.toml:"), std::string::npos) << ll[0].evidence;
}

TEST(AuditProfiles, WorkdirFlagsTheWritableCurrentDirectory) {
  TargetReport r = Builtin("workdir");
  auto rw = FindAll(r, "PRF-BIND-RW", kCwd);
  ASSERT_EQ(rw.size(), 1u);
  EXPECT_TRUE(rw[0].severity == Severity::kMedium || rw[0].severity == Severity::kLow);
  EXPECT_NE(rw[0].evidence.find("builtin/workdir.toml:"), std::string::npos) << rw[0].evidence;
  EXPECT_GE(Worst(r), Severity::kMedium);
  EXPECT_LT(r.score, Builtin("default").score);
  EXPECT_EQ(r.grade, "B");
}

TEST(AuditProfiles, NetworkAndAnalysis) {
  TargetReport net = Builtin("network");
  EXPECT_TRUE(HasFinding(net, "PRF-NET-USER"));
  auto limits = FindAll(net, "PRF-LIMITS");
  ASSERT_EQ(limits.size(), 1u);
  // Bounded by default (memory and pids from `default`): only the timeout is left open.
  EXPECT_EQ(limits[0].severity, Severity::kLow);
  EXPECT_EQ(limits[0].title, "incomplete resource limits");
  EXPECT_EQ(limits[0].evidence, "limits.timeout not set");
  EXPECT_EQ(limits[0].technique, "T1499");
  EXPECT_EQ(net.grade, "A");

  TargetReport analysis = Builtin("analysis");
  EXPECT_FALSE(HasFinding(analysis, "PRF-LIMITS"));
  EXPECT_EQ(analysis.score, 100);
  EXPECT_EQ(analysis.grade, "A");
}

TEST(AuditProfiles, WeakProfileFileGetsFWithEachWeakening) {
  std::string path = DataPath("host-weak.toml");
  auto r = AuditProfile(path, kCwd);
  ASSERT_TRUE(r.has_value()) << r.error().What();
  EXPECT_EQ(r->grade, "F");
  EXPECT_EQ(r->score, 0);
  EXPECT_EQ(r->target, path);

  auto net = FindAll(*r, "PRF-NS-NET");
  ASSERT_EQ(net.size(), 1u);
  EXPECT_EQ(net[0].severity, Severity::kHigh);
  EXPECT_EQ(net[0].technique, "T1611");
  EXPECT_NE(net[0].evidence.find("host-weak.toml:10"), std::string::npos) << net[0].evidence;

  auto root = FindAll(*r, "PRF-BIND-SENSITIVE", "bind / -> /host");
  ASSERT_EQ(root.size(), 1u);
  EXPECT_EQ(root[0].severity, Severity::kCritical);
  EXPECT_NE(root[0].evidence.find("host-weak.toml:13"), std::string::npos) << root[0].evidence;

  auto mount = FindAll(*r, "PRF-SECCOMP-ALLOW", "@mount");
  ASSERT_EQ(mount.size(), 1u);
  EXPECT_EQ(mount[0].severity, Severity::kHigh);
  EXPECT_NE(mount[0].evidence.find("host-weak.toml:17"), std::string::npos) << mount[0].evidence;

  auto off = FindAll(*r, "PRF-SECCOMP-DISABLED");
  ASSERT_EQ(off.size(), 1u);
  EXPECT_EQ(off[0].severity, Severity::kCritical);
  EXPECT_NE(off[0].evidence.find("host-weak.toml:16"), std::string::npos) << off[0].evidence;

  // Sorted: criticals first.
  EXPECT_EQ(r->findings.front().severity, Severity::kCritical);
}

TEST(AuditProfiles, LoaderErrorsNameFileAndLine) {
  auto r = AuditProfile(DataPath("does-not-exist.toml"), kCwd);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().What().find("does-not-exist.toml"), std::string::npos);
  auto unknown = AuditProfile("no-such-builtin", kCwd);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().What().find("unknown profile"), std::string::npos);
}

Policy BasePolicy() {
  auto p = LoadProfile("analysis", kCwd);
  EXPECT_TRUE(p.has_value());
  return p ? *p : Policy{};
}

TEST(AuditPolicyChecks, BaselineHasNoScoredFindings) {
  TargetReport r = AuditPolicy(BasePolicy(), {});
  EXPECT_EQ(r.score, 100);
}

TEST(AuditPolicyChecks, SeccompGroupsBySeverity) {
  Policy p = BasePolicy();
  p.seccomp.allow = {"@ptrace", "personality", "@time-read", "bpf", "@clock-set"};
  TargetReport r = AuditPolicy(p, {});
  auto ptrace = FindAll(r, "PRF-SECCOMP-ALLOW", "@ptrace");
  ASSERT_EQ(ptrace.size(), 1u);
  EXPECT_EQ(ptrace[0].severity, Severity::kHigh);
  EXPECT_EQ(ptrace[0].technique, "T1055.008");
  // A single syscall is graded by its group.
  auto bpf = FindAll(r, "PRF-SECCOMP-ALLOW", "bpf");
  ASSERT_EQ(bpf.size(), 1u);
  EXPECT_EQ(bpf[0].severity, Severity::kHigh);
  EXPECT_EQ(bpf[0].technique, "T1068");
  auto clock = FindAll(r, "PRF-SECCOMP-ALLOW", "@clock-set");
  ASSERT_EQ(clock.size(), 1u);
  EXPECT_EQ(clock[0].severity, Severity::kMedium);
  // Groups already in the default allow-list change nothing.
  EXPECT_FALSE(HasFinding(r, "PRF-SECCOMP-ALLOW", "@time-read"));
}

TEST(AuditPolicyChecks, HostNamespacesAndIdentity) {
  Policy p = BasePolicy();
  p.ns.pid = false;
  p.ns.ipc = false;
  p.ns.uts = false;
  p.identity.outside_uid_when_root = 0;
  TargetReport r = AuditPolicy(p, {});
  EXPECT_EQ(FindAll(r, "PRF-NS-PID")[0].severity, Severity::kHigh);
  EXPECT_EQ(FindAll(r, "PRF-NS-IPC")[0].severity, Severity::kMedium);
  EXPECT_EQ(FindAll(r, "PRF-NS-UTS")[0].severity, Severity::kLow);
  EXPECT_EQ(FindAll(r, "PRF-ID-ROOT")[0].severity, Severity::kHigh);
  EXPECT_FALSE(HasFinding(r, "PRF-NS-NET"));
}

MountEntry Mount(MountEntry::Kind kind, const std::string& src) {
  MountEntry m;
  m.kind = kind;
  m.src = m.dst = src;
  m.origin = "profile /p/x.toml line 7";
  return m;
}

TEST(AuditPolicyChecks, HostPathsAndDevices) {
  Policy p = BasePolicy();
  p.mounts.push_back(Mount(MountEntry::Kind::kBind, "/etc"));
  p.mounts.push_back(Mount(MountEntry::Kind::kBind, "/var"));  // contains the docker socket
  p.mounts.push_back(Mount(MountEntry::Kind::kBind, "/srv/data"));
  p.mounts.push_back(Mount(MountEntry::Kind::kRoBind, "/var/run/docker.sock"));
  p.mounts.push_back(Mount(MountEntry::Kind::kRoBind, "/root/.ssh"));
  p.mounts.push_back(Mount(MountEntry::Kind::kDevBind, "/dev/sda"));
  p.mounts.push_back(Mount(MountEntry::Kind::kDevBind, "/dev/dri"));
  TargetReport r = AuditPolicy(p, {});
  EXPECT_EQ(FindAll(r, "PRF-BIND-SENSITIVE", "bind /etc ")[0].severity, Severity::kCritical);
  EXPECT_EQ(FindAll(r, "PRF-BIND-SENSITIVE", "bind /var ")[0].severity, Severity::kCritical);
  auto data = FindAll(r, "PRF-BIND-RW", "/srv/data");
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].severity, Severity::kMedium);
  EXPECT_NE(data[0].evidence.find("/p/x.toml:7"), std::string::npos) << data[0].evidence;
  auto sock = FindAll(r, "PRF-BIND-RO-SENSITIVE", "docker.sock");
  ASSERT_EQ(sock.size(), 1u);
  EXPECT_EQ(sock[0].severity, Severity::kCritical);  // read-only does not stop connect()
  EXPECT_EQ(sock[0].technique, "T1610");
  EXPECT_EQ(FindAll(r, "PRF-BIND-RO-SENSITIVE", "/root/.ssh")[0].technique, "T1552.001");
  EXPECT_EQ(FindAll(r, "PRF-DEVICE", "/dev/sda")[0].severity, Severity::kCritical);
  EXPECT_EQ(FindAll(r, "PRF-DEVICE", "/dev/dri")[0].severity, Severity::kHigh);
  // Homes: the home itself and dot directories are critical, a project below it is not.
  Policy homes = BasePolicy();
  homes.mounts.push_back(Mount(MountEntry::Kind::kBind, "/home/alice"));
  homes.mounts.push_back(Mount(MountEntry::Kind::kBind, "/home/alice/.ssh"));
  homes.mounts.push_back(Mount(MountEntry::Kind::kBind, "/home/alice/src/app"));
  TargetReport h = AuditPolicy(homes, {});
  EXPECT_TRUE(HasFinding(h, "PRF-BIND-SENSITIVE", "bind /home/alice "));
  EXPECT_TRUE(HasFinding(h, "PRF-BIND-SENSITIVE", "bind /home/alice/.ssh "));
  EXPECT_TRUE(HasFinding(h, "PRF-BIND-RW", "bind /home/alice/src/app "));
  // The default's read-only system binds (/usr, /etc/ssl ...) are not findings.
  EXPECT_FALSE(HasFinding(AuditPolicy(BasePolicy(), {}), "PRF-BIND-RO-SENSITIVE"));
}

TEST(AuditPolicyChecks, SecretsNestedUsernsFdsAndLimits) {
  Policy p = BasePolicy();
  p.env_keep = {"PATH", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "LANG"};
  p.env_set = {{"DB_PASSWORD", "hunter2"}, {"EDITOR", "vi"}};
  p.allow_nested_userns = true;
  p.pass_fds = {3};
  p.limits.timeout.reset();
  p.seccomp.requirement = Requirement::kBestEffort;
  p.landlock.requirement = Requirement::kDisabled;
  TargetReport r = AuditPolicy(p, {});
  auto secrets = FindAll(r, "PRF-ENV-SECRET");
  ASSERT_EQ(secrets.size(), 3u);
  for (const Finding& f : secrets) EXPECT_EQ(f.technique, "T1552.001");
  EXPECT_EQ(FindAll(r, "PRF-ENV-SECRET", "DB_PASSWORD")[0].severity, Severity::kHigh);
  for (const Finding& f : r.findings) EXPECT_EQ(f.evidence.find("hunter2"), std::string::npos);  // redacted
  EXPECT_EQ(FindAll(r, "PRF-NESTED-USERNS")[0].severity, Severity::kHigh);
  EXPECT_TRUE(HasFinding(r, "PRF-PASS-FD"));
  auto limits = FindAll(r, "PRF-LIMITS", "limits.timeout");
  ASSERT_EQ(limits.size(), 1u);
  EXPECT_EQ(limits[0].severity, Severity::kLow);
  EXPECT_EQ(FindAll(r, "PRF-SECCOMP-BEST-EFFORT")[0].severity, Severity::kMedium);
  EXPECT_EQ(FindAll(r, "PRF-LANDLOCK-DISABLED")[0].severity, Severity::kLow);
  EXPECT_FALSE(HasFinding(r, "PRF-ENV-SECRET", "LANG"));
}

}  // namespace
}  // namespace airlock::audit
