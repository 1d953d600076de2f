// Escape tier, host files: every way out to a host file from inside the default profile must fail
// (tests/helpers/escape_fs.c). Controls run the same probe on the host where that is cheap and
// harmless, so a probe that could never detect an escape fails the test.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape_util.h"

using namespace airlock::escape;
using airlock::test::HelperDir;

namespace {

TEST(EscapeFs, ReadHostFileDirectly) {
  HostSecret secret;
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_fs", "read_direct", secret.Params()), "read_direct");
  EXPECT_PROBE_ESCAPED(RunOnHost("escape_fs", "read_direct", secret.Params()), "read_direct");
}

TEST(EscapeFs, ThroughProcOneRoot) {
  HostSecret secret;
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_fs", "proc1_root", secret.Params()), "proc1_root");
}

TEST(EscapeFs, ThroughProcRootOfAHostProcess) {
  HostSecret secret;
  auto params = secret.Params();
  params.push_back("hostpid=" + std::to_string(getpid()));
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_fs", "procpid_root", params), "procpid_root");
  // Control: on the host, this test's own /proc/PID/root leads to the secret.
  EXPECT_PROBE_ESCAPED(RunOnHost("escape_fs", "procpid_root", params), "procpid_root");
}

// CVE-2024-21626 (runc "leaky vessels"): a host directory fd inherited without O_CLOEXEC.
TEST(EscapeFs, ThroughLeakedDirectoryFds) {
  HostSecret secret;
  int path_fd = open(secret.dir().c_str(), O_PATH | O_DIRECTORY);  // no O_CLOEXEC on purpose
  int dir_fd = open(secret.dir().c_str(), O_RDONLY | O_DIRECTORY);  // no O_CLOEXEC on purpose
  ASSERT_GE(path_fd, 0);
  ASSERT_GE(dir_fd, 0);
  int high_fd = dup2(path_fd, 1000);  // near the top of the range the probe scans
  ASSERT_EQ(high_fd, 1000);
  auto in = RunInSandbox("escape_fs", "leaked_fds", secret.Params());
  auto host = RunOnHost("escape_fs", "leaked_fds", secret.Params());
  close(path_fd);
  close(dir_fd);
  close(high_fd);
  EXPECT_PROBE_BLOCKED(in, "leaked_fds");
  EXPECT_PROBE_ESCAPED(host, "leaked_fds");
}

// Shocker (2014): open_by_handle_at with a handle of "/" or a forged root inode.
TEST(EscapeFs, OpenByHandleAt) {
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_fs", "open_by_handle"), "open_by_handle");
}

TEST(EscapeFs, ChrootThenDotDot) {
  HostSecret secret;
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_fs", "chroot_dotdot", secret.Params()), "chroot_dotdot");
}

TEST(EscapeFs, DevicesAreAbsent) {
  for (const char* probe : {"dev_mem", "dev_kmsg", "dev_block", "dev_kvm"}) {
    EXPECT_PROBE_BLOCKED(RunInSandbox("escape_fs", probe), probe);
  }
}

TEST(EscapeFs, KernelControlFilesNotWritable) {
  for (const char* probe : {"sysrq_trigger", "core_pattern", "release_agent", "proc_exe"}) {
    EXPECT_PROBE_BLOCKED(RunInSandbox("escape_fs", probe), probe);
  }
}

TEST(EscapeFs, ReadOnlyBindsStayReadOnly) {
  std::string dir = airlock::test::MakeTempDir("escape-ro");
  chmod(dir.c_str(), 0777);  // writable by anyone on the host: only the read-only bind may stop it
  auto r = RunInSandbox("escape_fs", "ro_bind_write", {"rodir=/data"}, {"--ro-bind", dir, "/data"});
  EXPECT_PROBE_BLOCKED(r, "ro_bind_write");
  struct stat st{};
  EXPECT_NE(stat((dir + "/.airlock-escape-probe").c_str(), &st), 0);
  // Control: the same directory is writable from the host.
  EXPECT_PROBE_ESCAPED(RunOnHost("escape_fs", "ro_bind_write", {"rodir=" + dir}), "ro_bind_write");
  rmdir(dir.c_str());
}

TEST(EscapeFs, SetuidCopyGainsNothing) {
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_fs", "setuid_copy"), "setuid_copy");
}

TEST(EscapeFs, TmpFillStopsAtTheTmpfsSize) {
  auto r = RunInSandbox("escape_fs", "tmp_fill");
  EXPECT_PROBE_BLOCKED(r, "tmp_fill");
  auto p = Find(r, "tmp_fill");
  EXPECT_EQ(p.detail.rfind("ENOSPC after ", 0), 0u) << p.detail;
  int mib = p.detail.size() > 13 ? std::atoi(p.detail.c_str() + 13) : -1;
  EXPECT_GE(mib, 60) << p.detail;  // the default profile's /tmp is 64m
  EXPECT_LE(mib, 64) << p.detail;
}

}  // namespace
