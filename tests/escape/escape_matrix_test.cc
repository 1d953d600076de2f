// Escape tier, the layer matrix: every layer proven on its own in a real run. For each seccomp group
// outside the default, Landlock, the session keyring, the session, each namespace that can be
// turned off and the capability drop, one cell runs a probe (tests/helpers/escape_layers.c, or one of
// the other escape helpers) twice: in the baseline (the default profile) it is BLOCKED, and for
// seccomp the filter's own refusal is what stopped it (the call is counted in the report's
// denied_syscalls); with that ONE layer weakened (a CLI flag or a small profile) the same probe gets
// through (ESCAPED) and the report lists the weakening. Where another layer covers the same attack,
// the cell's baseline weakens that other layer too (the keyring cell allows @keyring in both runs),
// so the difference between the two runs is exactly the layer under test.
// Groups whose calls the kernel itself refuses without a capability of the initial user namespace
// (acct, modules, kexec) or of the sandbox's own (reboot: the capability drop) cannot "escape": their
// cell shows the call passing the filter (no longer counted) and the kernel refusing it. The user and
// mount namespaces cannot be turned off: their cells weaken everything around them and show the
// probe still blocked, by them. The table is docs/SECURITY.md "The layer matrix".
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "escape_util.h"
#include "seccomp/seccomp.h"

using namespace airlock::escape;

namespace {

enum class Then {
  kEscapes,       // the weakened run: ESCAPED
  kPassesFilter,  // the weakened run: not counted by the filter any more; the kernel may still refuse
  kStillBlocked,  // a layer that cannot be turned off: still BLOCKED with everything around it weakened
};

struct Cell {
  const char* name;     // the ctest suffix
  const char* helper;   // tests/helpers program
  const char* probe;
  std::vector<std::string> base_opts;  // options of both runs
  std::vector<std::string> weak_opts;  // options of the weakened run only
  const char* weak_toml;               // the weakened run's profile (on top of the baseline's); "" = none
  const char* counted;                 // seccomp: the syscall the baseline's filter refuses and counts
  Then then;
  const char* refusal;                 // in the baseline's probe detail: this layer's own refusal
  int landlock_abi = 0;                // the Landlock ABI the baseline needs (0: none)
  const char* base_toml = "";          // the profile of both runs (on top of include = ["default"]); "" = default
};

Cell Seccomp(const char* name, const char* probe, const char* group, const char* syscall, Then then = Then::kEscapes) {
  return {name, "escape_layers", probe, {}, {"--allow", group}, "", syscall, then, "EPERM"};
}

constexpr const char* kKeepCaps = "[weaken]\nkeep_capabilities = true\n";

const std::vector<Cell>& Cells() {
  static const std::vector<Cell> cells = {
      Seccomp("seccomp_mount", "sc_mount", "@mount", "umount2"),
      Seccomp("seccomp_chroot", "sc_chroot", "@chroot", "chroot"),
      Seccomp("seccomp_namespaces", "sc_namespaces", "@namespaces", "setns"),
      Seccomp("seccomp_keyring", "sc_keyring", "@keyring", "keyctl"),
      Seccomp("seccomp_bpf", "sc_bpf", "@bpf", "bpf"),
      Seccomp("seccomp_perf", "sc_perf", "@perf", "perf_event_open"),
      Seccomp("seccomp_ptrace", "sc_ptrace", "@ptrace", "process_vm_readv"),
      Seccomp("seccomp_debug", "sc_debug", "@debug", "kcmp"),
      Seccomp("seccomp_handles", "sc_handles", "@handles", "name_to_handle_at"),
      Seccomp("seccomp_module", "sc_module", "@module", "init_module", Then::kPassesFilter),
      Seccomp("seccomp_kexec", "sc_kexec", "@kexec", "kexec_load", Then::kPassesFilter),
      Seccomp("seccomp_reboot", "sc_reboot", "@reboot", "reboot", Then::kPassesFilter),
      Seccomp("seccomp_swap", "sc_swap", "@swap", "swapon"),
      Seccomp("seccomp_clock_set", "sc_clock_set", "@clock-set", "clock_settime"),
      Seccomp("seccomp_raw_io", "sc_raw_io", "@raw-io", "iopl"),
      Seccomp("seccomp_io_uring", "sc_io_uring", "@io-uring", "io_uring_setup"),
      Seccomp("seccomp_userfaultfd", "sc_userfaultfd", "@userfaultfd", "userfaultfd"),
      Seccomp("seccomp_quota", "sc_quota", "@quota", "quotactl"),
      Seccomp("seccomp_acct", "sc_acct", "@acct", "acct", Then::kPassesFilter),
      Seccomp("seccomp_numa", "sc_numa", "@numa", "get_mempolicy"),
      Seccomp("seccomp_ldt", "sc_ldt", "@ldt", "modify_ldt"),
      Seccomp("seccomp_privileged_misc", "sc_privileged_misc", "@privileged-misc", "fanotify_init", Then::kPassesFilter),
      Seccomp("seccomp_obsolete", "sc_obsolete", "@obsolete", "ustat"),
      // With the capability drop off in both runs, reboot (wrong magic) reaches the kernel: seccomp alone
      // stood in its way (CAP_SYS_BOOT of the sandbox's own pid namespace).
      {"seccomp_reboot_caps_kept", "escape_layers", "sc_reboot", {"--uid", "0"}, {"--allow", "@reboot"}, "", "reboot",
       Then::kEscapes, "EPERM", 0, kKeepCaps},
      // Landlock: a TCP port of the sandbox's own loopback; a signal to the sandbox's init; a file in
      // the sandbox's own /dev tmpfs, which the payload (inside uid 0) may write by its mode.
      {"landlock_tcp_bind", "escape_layers", "ll_tcp_bind", {}, {"--landlock", "disabled"}, "", nullptr, Then::kEscapes, "EACCES", 4},
      {"landlock_signal", "escape_layers", "ll_signal", {}, {"--landlock", "disabled"}, "", nullptr, Then::kEscapes, "EPERM", 6},
      {"landlock_fs", "escape_layers", "ll_dev_create", {"--uid", "0"}, {"--landlock", "disabled"}, "", nullptr, Then::kEscapes,
       "EACCES", 1},
      // The session keyring: keyctl allowed in both runs, so only the fresh keyring stands in the way.
      {"keyring", "escape_kernel", "keyring_read", {"--allow", "@keyring"}, {}, "[process]\nnew_keyring = false\n", nullptr,
       Then::kEscapes, "EACCES"},
      {"session", "escape_layers", "session", {}, {}, "[process]\nnew_session = false\n", nullptr, Then::kEscapes, "own session"},
      {"ns_pid", "escape_layers", "ns_pid", {}, {}, "[namespaces]\npid = false\n[filesystem]\nproc = false\n", nullptr,
       Then::kEscapes, "ESRCH"},
      {"ns_ipc", "escape_proc", "sysv_ipc", {}, {}, "[namespaces]\nipc = false\n", nullptr, Then::kEscapes, "ENOENT"},
      {"ns_uts", "escape_layers", "ns_uts", {}, {}, "[namespaces]\nuts = false\n[process]\nhostname = \"\"\n", nullptr,
       Then::kEscapes, "hostname 'airlock'"},
      {"ns_net", "escape_layers", "ns_net", {}, {"--net", "host"}, "", nullptr, Then::kEscapes, "ECONNREFUSED"},
      {"ns_cgroup", "escape_layers", "ns_cgroup", {}, {}, "[namespaces]\ncgroup = false\n", nullptr, Then::kEscapes, ":/"},
      // The capability drop: inside uid 0 in both runs (capabilities only mean something for it).
      {"capabilities", "escape_kernel", "caps", {"--uid", "0"}, {}, kKeepCaps, nullptr, Then::kEscapes, "all zero"},
      {"capabilities_dac", "escape_layers", "cap_dac", {"--uid", "0"}, {}, kKeepCaps, nullptr, Then::kEscapes, "EACCES"},
      // Not weakenable. The user namespace: acct() passes the filter, the payload keeps every
      // capability of its namespace, and the kernel still refuses (CAP_SYS_PACCT of the initial user
      // namespace). The mount namespace: with Landlock off, the host secret is simply not there.
      {"userns_mandatory", "escape_layers", "sc_acct", {"--uid", "0"}, {"--allow", "@acct"}, kKeepCaps, "acct",
       Then::kStillBlocked, "EPERM"},
      {"mountns_mandatory", "escape_fs", "read_direct", {}, {"--landlock", "disabled"}, "", nullptr, Then::kStillBlocked, "ENOENT"},
  };
  return cells;
}

nlohmann::json ReadReport(const std::string& path) {
  auto j = nlohmann::json::parse(airlock::test::ReadFileOrEmpty(path), nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

int LandlockAbi(const nlohmann::json& report) {
  for (const auto& l : report.value("layers", nlohmann::json::array())) {
    if (l.value("name", "") == "landlock" && l.value("engaged", false)) {
      std::string d = l.value("detail", "");
      auto p = d.find("ABI ");
      return p == std::string::npos ? 0 : std::atoi(d.c_str() + p + 4);
    }
  }
  return 0;
}

// What the probes of a cell need from the host: a secret file, a host process, the host's hostname,
// a UDP socket, a SysV segment, a key in this session's keyring. Released at the end of the cell.
class HostSide {
 public:
  HostSide() {
    udp_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (udp_ >= 0 && bind(udp_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        getsockname(udp_, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      udp_port_ = ntohs(a.sin_port);
    }
    shm_key_ = static_cast<key_t>(0x41480000 | (getpid() & 0xffff));
    shm_ = shmget(shm_key_, 4096, IPC_CREAT | IPC_EXCL | 0666);
    key_id_ = syscall(SYS_add_key, "user", "airlock-matrix-key", "s3cret-matrix", 13, -3 /* session keyring */);
    token_ = "airlock-matrix-" + std::to_string(getpid());
  }
  ~HostSide() {
    if (udp_ >= 0) close(udp_);
    if (shm_ >= 0) shmctl(shm_, IPC_RMID, nullptr);
    if (key_id_ >= 0) syscall(SYS_keyctl, 3 /* KEYCTL_REVOKE */, key_id_);
  }
  HostSide(const HostSide&) = delete;
  HostSide& operator=(const HostSide&) = delete;

  std::vector<std::string> Params() const {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    auto p = secret_.Params();
    p.insert(p.end(), {"hostpid=" + std::to_string(sleeper_.pid()), std::string("hostname=") + host,
                       "udpport=" + std::to_string(udp_port_), "token=" + token_, "shmkey=" + std::to_string(shm_key_),
                       "keyid=" + std::to_string(key_id_)});
    return p;
  }
  // Datagrams the host socket received since the last call that carry the token.
  bool ReceivedToken() const {
    bool seen = false;
    char buf[256];
    for (ssize_t n; udp_ >= 0 && (n = recv(udp_, buf, sizeof buf, MSG_DONTWAIT)) > 0;) {
      seen |= std::string(buf, static_cast<size_t>(n)) == token_;
    }
    return seen;
  }
  bool HasKey() const { return key_id_ >= 0; }
  bool HasShm() const { return shm_ >= 0; }

 private:
  HostSecret secret_;
  HostSleeper sleeper_;
  int udp_ = -1;
  int udp_port_ = 9;
  key_t shm_key_ = 0;
  int shm_ = -1;
  long key_id_ = -1;
  std::string token_;
};

struct CellRun {
  airlock::test::RunResult run;
  ProbeResult probe;
  nlohmann::json report;
};

class EscapeMatrix : public ::testing::TestWithParam<Cell> {
 protected:
  void SetUp() override { dir_ = airlock::test::MakeTempDir("escape-matrix"); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  CellRun RunCell(const Cell& c, bool weakened, const std::vector<std::string>& params) {
    std::string report = dir_ + (weakened ? "/weakened.json" : "/baseline.json");
    std::vector<std::string> opts = c.base_opts;
    if (weakened) opts.insert(opts.end(), c.weak_opts.begin(), c.weak_opts.end());
    std::string toml = std::string(c.base_toml) + (weakened ? c.weak_toml : "");
    if (!toml.empty()) {
      std::string profile = dir_ + (weakened ? "/weakened.toml" : "/baseline.toml");
      airlock::test::WriteFile(profile, "include = [\"default\"]\n" + toml);
      opts.insert(opts.end(), {"--profile", profile});
    }
    opts.insert(opts.end(), {"--report", report});
    CellRun r;
    r.run = RunInSandbox(c.helper, c.probe, params, opts);
    r.probe = Find(r.run, c.probe);
    r.report = ReadReport(report);
    return r;
  }
  std::string dir_;
};

std::string Describe(const CellRun& r) {
  return "probe: " + r.probe.status + " " + r.probe.detail + "\nexit " + std::to_string(r.run.exit_code) + "\nstdout: " +
         r.run.out + "\nstderr: " + r.run.err + "\nreport: " + r.report.dump();
}

int Counted(const CellRun& r, const char* syscall) {
  return r.report.contains("denied_syscalls") ? r.report["denied_syscalls"].value(syscall, 0) : 0;
}

TEST_P(EscapeMatrix, OneLayerWeakenedLetsTheProbeThrough) {
  const Cell& c = GetParam();
  HostSide host;
  if (std::string(c.probe) == "keyring_read" && !host.HasKey()) GTEST_SKIP() << "add_key unavailable here: " << strerror(errno);
  if (std::string(c.probe) == "sysv_ipc" && !host.HasShm()) GTEST_SKIP() << "no SysV shared memory here";
  const auto params = host.Params();

  // Baseline: blocked, and by this layer.
  CellRun base = RunCell(c, false, params);
  ASSERT_TRUE(base.report.is_object() && base.report.contains("reason")) << Describe(base);
  if (c.landlock_abi > 0 && LandlockAbi(base.report) < c.landlock_abi) {
    GTEST_SKIP() << "the kernel's Landlock ABI " << LandlockAbi(base.report) << " < " << c.landlock_abi
                 << " this cell needs (the layer is not enforced here; the report says so in not_enforced)";
  }
  EXPECT_EQ(base.probe.status, "BLOCKED") << Describe(base);
  EXPECT_NE(base.probe.detail.find(c.refusal), std::string::npos) << "not this layer's refusal (" << c.refusal << ")\n" << Describe(base);
  if (c.counted) {
    EXPECT_GE(Counted(base, c.counted), 1) << "the filter did not refuse " << c.counted << "\n" << Describe(base);
  }
  if (std::string(c.probe) == "ns_net") {
    EXPECT_FALSE(host.ReceivedToken()) << "a datagram reached the host socket";
  }

  // Weakened: this one layer off, reported, and the probe through.
  CellRun weak = RunCell(c, true, params);
  ASSERT_TRUE(weak.report.contains("weakenings")) << Describe(weak);
  EXPECT_GT(weak.report["weakenings"].size(), base.report.value("weakenings", nlohmann::json::array()).size())
      << "the weakening is not in the report\n" << Describe(weak);
  std::cout << "MATRIX " << c.name << " | " << base.probe.status << " " << base.probe.detail << " | " << weak.probe.status << " "
            << weak.probe.detail << "\n";
  switch (c.then) {
    case Then::kEscapes:
      EXPECT_EQ(weak.probe.status, "ESCAPED") << Describe(weak);
      break;
    case Then::kPassesFilter:
      EXPECT_TRUE(weak.probe.status == "ESCAPED" || weak.probe.detail == "EPERM") << Describe(weak);
      break;
    case Then::kStillBlocked:
      EXPECT_EQ(weak.probe.status, "BLOCKED") << Describe(weak);
      break;
  }
  if (c.counted) {
    EXPECT_EQ(Counted(weak, c.counted), 0) << c.counted << " still refused by the filter\n" << Describe(weak);
  }
  if (std::string(c.probe) == "ns_net") {
    EXPECT_TRUE(host.ReceivedToken()) << "no datagram reached the host socket";
  }
}

INSTANTIATE_TEST_SUITE_P(Layers, EscapeMatrix, ::testing::ValuesIn(Cells()),
                         [](const ::testing::TestParamInfo<Cell>& p) { return std::string(p.param.name); });

// The matrix covers every seccomp group outside the default allow-list (a new group needs a cell).
TEST(EscapeMatrixCoverage, EveryGroupOutsideTheDefaultHasACell) {
  std::set<std::string> weakened;
  for (const Cell& c : Cells()) {
    for (size_t i = 0; i + 1 < c.weak_opts.size(); ++i) {
      if (c.weak_opts[i] == "--allow") weakened.insert(c.weak_opts[i + 1]);
    }
  }
  for (const auto& g : airlock::SyscallGroups()) {
    if (!g.in_default) {
      EXPECT_TRUE(weakened.count(g.name)) << g.name << " has no cell in the layer matrix";
    }
  }
}

// The mount namespace cannot be turned off: a profile that tries is refused before anything runs.
TEST(EscapeMatrixCoverage, MountNamespaceCannotBeTurnedOff) {
  std::string dir = airlock::test::MakeTempDir("escape-matrix-mnt");
  std::string profile = dir + "/nomount.toml";
  airlock::test::WriteFile(profile, "include = [\"default\"]\n[namespaces]\nmount = false\n");
  auto r = airlock::test::RunAirlock({"--profile", profile}, {"/bin/true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("namespaces.mount cannot be disabled"), std::string::npos) << r.err;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
