// Escape tier, kernel attack surface and namespace escapes (tests/helpers/escape_kernel.c): mount,
// namespaces, keyrings, bpf, perf, userfaultfd, io_uring, modules, kexec, reboot, swap, clocks,
// hostname, capabilities, fileless exec. Privileged calls carry invalid arguments only; BLOCKED means
// EPERM/ENOSYS (refused before the kernel read the arguments). The --report test checks that the
// seccomp filter itself refused them (denied_syscalls), not merely the kernel's capability checks.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "escape_util.h"

using namespace airlock::escape;

namespace {

class EscapeKernel : public ::testing::TestWithParam<const char*> {};

TEST_P(EscapeKernel, ProbeIsBlocked) {
  HostSecret secret;
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_kernel", GetParam(), secret.Params()), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Probes, EscapeKernel,
                         ::testing::Values("mount", "mount_api", "umount", "pivot_root", "unshare_userns", "clone3", "nsfs_parent",
                                           "keyctl", "bpf", "perf_event_open", "userfaultfd", "io_uring",
                                           "kexec_load", "init_module", "finit_module", "delete_module", "reboot",
                                           "swapon", "settimeofday", "clock_settime", "sethostname", "compat_abi",
                                           "caps"),
                         [](const auto& p) { return std::string(p.param); });

TEST(EscapeKernelHost, SetnsIntoHostAndInitNamespaces) {
  HostSleeper sleeper;
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_kernel", "setns", {"hostpid=" + std::to_string(sleeper.pid())}), "setns");
}

TEST(EscapeKernelHost, HostHostnameUnchanged) {
  char before[256] = {}, after[256] = {};
  ASSERT_EQ(gethostname(before, sizeof before - 1), 0);
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_kernel", "sethostname"), "sethostname");
  ASSERT_EQ(gethostname(after, sizeof after - 1), 0);
  EXPECT_STREQ(before, after);
}

TEST(EscapeKernelHost, CapabilitiesControl) {
  // Control: root on the host has capabilities, so the probe can see them.
  if (!airlock::test::IsRoot()) GTEST_SKIP() << "control needs root on the host (the sandbox check still ran above)";
  EXPECT_PROBE_ESCAPED(RunOnHost("escape_kernel", "caps"), "caps");
}

TEST(EscapeKernelHost, LaunchingSessionKeyringUnreadable) {
  long id = syscall(SYS_add_key, "user", "airlock-escape-key", "s3cret-escape", 13, -3 /* session keyring */);
  if (id < 0) GTEST_SKIP() << "add_key unavailable here: " << strerror(errno);
  auto r = RunInSandbox("escape_kernel", "keyring_read", {"keyid=" + std::to_string(id)});
  EXPECT_PROBE_BLOCKED(r, "keyring_read");
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos);
  // Control: the key is readable by this process on the host.
  EXPECT_PROBE_ESCAPED(RunOnHost("escape_kernel", "keyring_read", {"keyid=" + std::to_string(id)}), "keyring_read");
  syscall(SYS_keyctl, 3 /* KEYCTL_REVOKE */, id);
}

// Every privileged syscall the probes try is refused by airlock's seccomp filter (counted in the
// report), so the refusal does not rest on the kernel's capability checks alone.
TEST(EscapeKernelHost, FilterRefusesTheCallsAndReportsThem) {
  HostSecret secret;
  std::string dir = airlock::test::MakeTempDir("escape-report");
  std::string report = dir + "/report.json";
  auto r = RunInSandbox("escape_kernel", "all", secret.Params(), {"--report", report});
  auto probes = ParseProbes(r.out);
  EXPECT_EQ(probes.size(), 26u) << r.out << r.err;
  auto j = nlohmann::json::parse(airlock::test::ReadFileOrEmpty(report), nullptr, false);
  unlink(report.c_str());
  rmdir(dir.c_str());
  ASSERT_TRUE(j.is_object()) << r.err;
  ASSERT_TRUE(j.contains("denied_syscalls")) << j.dump();
  const auto& denied = j["denied_syscalls"];
  for (const char* sc : {"mount", "fsopen", "umount2", "pivot_root", "unshare", "setns", "keyctl", "bpf",
                         "perf_event_open", "userfaultfd", "io_uring_setup", "kexec_load", "init_module",
                         "finit_module", "delete_module", "reboot", "swapon", "settimeofday", "clock_settime",
                         "sethostname"}) {
    EXPECT_TRUE(denied.contains(sc)) << sc << " not refused by the filter; report: " << denied.dump();
  }
}

// Fileless execution (memfd_create + execveat of a copy of /bin/true). KNOWN LIMIT: the default
// profile allows both syscalls and the run report does not show the execution yet; it is to be
// reported by the monitor (issue 5), see docs/SECURITY.md "Known limits". This test pins what is true
// today: if airlock starts refusing it, the refusal must be visible in denied_syscalls.
TEST(EscapeKernelHost, MemfdExecKnownLimit) {
  std::string dir = airlock::test::MakeTempDir("escape-memfd");
  std::string report = dir + "/report.json";
  auto r = RunInSandbox("escape_kernel", "memfd_exec", {}, {"--report", report});
  auto p = Find(r, "memfd_exec");
  auto j = nlohmann::json::parse(airlock::test::ReadFileOrEmpty(report), nullptr, false);
  unlink(report.c_str());
  rmdir(dir.c_str());
  ASSERT_TRUE(j.is_object()) << r.err;
  if (p.status == "BLOCKED") {
    const auto& denied = j["denied_syscalls"];
    EXPECT_TRUE(denied.contains("memfd_create") || denied.contains("execveat")) << denied.dump();
  } else {
    // Allowed by the default policy (fileless execution is not an escape), but never unseen: the
    // run report counts it.
    ASSERT_EQ(p.status, "ESCAPED") << r.out << r.err;
    EXPECT_EQ(p.detail, "executed a memfd copy of /bin/true");
    EXPECT_EQ(j["reason"], "ok") << j.dump();
    EXPECT_GE(j["observed_syscalls"].value("memfd_create", 0), 1) << j.dump();
    EXPECT_GE(j["observed_syscalls"].value("execveat", 0), 1) << j.dump();
  }
}

}  // namespace
