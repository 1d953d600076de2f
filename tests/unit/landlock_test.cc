// Landlock: plan computation (pure) and real enforcement in forked children (Landlock is irreversible).
// Test directories live under /var/tmp, not /tmp: the built-in skeleton gives /tmp every right.
#include "landlock/landlock.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "kernel/landlock_abi.h"
#include "test_env.h"

namespace airlock {
namespace {

constexpr uint64_t kRead = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_EXECUTE;

class TempTree {
 public:
  TempTree() {
    char templ[] = "/var/tmp/airlock-landlock-XXXXXX";
    if (mkdtemp(templ)) root_ = templ;
  }
  ~TempTree() {
    if (!root_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(root_, ec);
    }
  }
  bool ok() const { return !root_.empty(); }
  std::string Dir(const std::string& name) const {
    std::string p = root_ + "/" + name;
    mkdir(p.c_str(), 0755);
    return p;
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

Policy BasePolicy() {
  Policy p;
  p.home = "";  // no home rule: the test decides every writable place
  p.net.mode = NetMode::kHost;
  return p;
}

const LandlockRule* RuleFor(const LandlockPlan& plan, const std::string& path) {
  for (const auto& r : plan.rules) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

// Runs fn in a forked child with no_new_privs set; returns its exit code (or 100+signal).
template <class Fn>
int InChild(Fn fn) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(90);
    _exit(fn());
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

#define REQUIRE_ABI(n)                                                                              \
  do {                                                                                              \
    int abi_ = LandlockAbiVersion();                                                                \
    if (abi_ < (n)) GTEST_SKIP() << "SKIPPED LOUDLY: Landlock ABI " << abi_ << " < " << (n) << " on this kernel"; \
  } while (0)

TEST(LandlockPlanTest, HandledRightsFollowAbi) {
  EXPECT_EQ(LandlockHandledFsForAbi(0), 0u);
  uint64_t a1 = LandlockHandledFsForAbi(1);
  EXPECT_TRUE(a1 & LANDLOCK_ACCESS_FS_MAKE_SYM);
  EXPECT_FALSE(a1 & LANDLOCK_ACCESS_FS_REFER);
  EXPECT_TRUE(LandlockHandledFsForAbi(2) & LANDLOCK_ACCESS_FS_REFER);
  EXPECT_FALSE(LandlockHandledFsForAbi(2) & LANDLOCK_ACCESS_FS_TRUNCATE);
  EXPECT_TRUE(LandlockHandledFsForAbi(3) & LANDLOCK_ACCESS_FS_TRUNCATE);
  EXPECT_FALSE(LandlockHandledFsForAbi(4) & LANDLOCK_ACCESS_FS_IOCTL_DEV);
  EXPECT_TRUE(LandlockHandledFsForAbi(5) & LANDLOCK_ACCESS_FS_IOCTL_DEV);
  EXPECT_EQ(LandlockHandledFsForAbi(7), LandlockHandledFsForAbi(5));
}

TEST(LandlockPlanTest, DisabledMeansNoPlan) {
  Policy p = BasePolicy();
  p.landlock.requirement = Requirement::kDisabled;
  auto plan = PrepareLandlockFromParent(p, {});
  ASSERT_TRUE(plan) << plan.error().What();
  EXPECT_FALSE(plan->enabled);
  EXPECT_TRUE(plan->rules.empty());
  EXPECT_EQ(ApplyLandlockInChild(*plan), 0);  // a disabled plan is a no-op (safe to call here)
}

TEST(LandlockPlanTest, RequiredAbiTooHighFails) {
  Policy p = BasePolicy();
  p.landlock.requirement = Requirement::kRequired;
  p.landlock.min_abi = 99;
  auto plan = PrepareLandlockFromParent(p, {});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().What().find("< required 99"), std::string::npos) << plan.error().What();
  EXPECT_EQ(plan.error().What().rfind("Landlock ABI ", 0), 0u) << plan.error().What();
}

bool Mentions(const LandlockPlan& plan, const std::string& word) {
  return std::any_of(plan.not_enforced.begin(), plan.not_enforced.end(),
                     [&word](const std::string& s) { return s.find(word) != std::string::npos; });
}

TEST(LandlockPlanTest, BestEffortDowngradesPerAbi) {
  Policy p = BasePolicy();
  p.net.mode = NetMode::kNone;
  std::vector<MountEntry> mounts = {{MountEntry::Kind::kDevBind, "/dev/fuse", "/dev/fuse"}};

  auto none = PrepareLandlockForAbi(p, mounts, 0);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->enabled);
  EXPECT_TRUE(Mentions(*none, "not available"));

  auto a1 = PrepareLandlockForAbi(p, mounts, 1);
  ASSERT_TRUE(a1);
  EXPECT_TRUE(a1->enabled);
  EXPECT_FALSE(a1->handled_fs & (LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV));
  EXPECT_EQ(RuleFor(*a1, "/dev/fuse")->access, static_cast<uint64_t>(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE));
  EXPECT_EQ(a1->handled_net, 0u);
  EXPECT_EQ(a1->scoped, 0u);
  EXPECT_TRUE(Mentions(*a1, "truncat"));
  EXPECT_TRUE(Mentions(*a1, "ioctl"));
  EXPECT_TRUE(Mentions(*a1, "TCP"));
  EXPECT_TRUE(Mentions(*a1, "signals"));

  auto a4 = PrepareLandlockForAbi(p, mounts, 4);
  ASSERT_TRUE(a4);
  EXPECT_TRUE(a4->handled_fs & LANDLOCK_ACCESS_FS_TRUNCATE);
  EXPECT_EQ(a4->handled_net, LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP);
  EXPECT_FALSE(Mentions(*a4, "truncat"));
  EXPECT_FALSE(Mentions(*a4, "TCP"));
  EXPECT_TRUE(Mentions(*a4, "ioctl"));

  auto a6 = PrepareLandlockForAbi(p, mounts, 6);
  ASSERT_TRUE(a6);
  EXPECT_EQ(a6->scoped, LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL);
  EXPECT_TRUE(RuleFor(*a6, "/dev/fuse")->access & LANDLOCK_ACCESS_FS_IOCTL_DEV);
  EXPECT_TRUE(a6->not_enforced.empty()) << a6->not_enforced.front();
}

TEST(LandlockPlanTest, RequiredChecksMinAbi) {
  Policy p = BasePolicy();
  p.landlock.requirement = Requirement::kRequired;
  p.landlock.min_abi = 4;
  auto low = PrepareLandlockForAbi(p, {}, 3);
  ASSERT_FALSE(low);
  EXPECT_EQ(low.error().What(), "Landlock ABI 3 < required 4");
  EXPECT_TRUE(PrepareLandlockForAbi(p, {}, 4));
  p.landlock.min_abi = 1;
  auto zero = PrepareLandlockForAbi(p, {}, 0);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().What(), "Landlock ABI 0 < required 1");
}

TEST(LandlockPlanTest, RulesPerMountKind) {
  Policy p = BasePolicy();
  p.home = "/home/sandbox";
  std::vector<MountEntry> mounts = {
      {MountEntry::Kind::kRoBind, "/usr", "/usr"},
      {MountEntry::Kind::kBind, "/srv/work", "/work"},
      {MountEntry::Kind::kTmpfs, "", "/scratch"},
      {MountEntry::Kind::kDevBind, "/dev/fuse", "/dev/fuse"},
      {MountEntry::Kind::kSymlink, "usr/lib", "/lib"},
  };
  auto plan = PrepareLandlockForAbi(p, mounts, 6);
  ASSERT_TRUE(plan) << plan.error().What();
  ASSERT_TRUE(plan->enabled);
  EXPECT_EQ(plan->handled_fs, LandlockHandledFsForAbi(plan->abi));
  ASSERT_NE(RuleFor(*plan, "/usr"), nullptr);
  EXPECT_EQ(RuleFor(*plan, "/usr")->access, kRead);
  EXPECT_EQ(RuleFor(*plan, "/work")->access, plan->handled_fs);
  EXPECT_EQ(RuleFor(*plan, "/scratch")->access, plan->handled_fs);
  EXPECT_EQ(RuleFor(*plan, "/tmp")->access, plan->handled_fs);
  EXPECT_EQ(RuleFor(*plan, "/dev/shm")->access, plan->handled_fs);
  EXPECT_EQ(RuleFor(*plan, "/home/sandbox")->access, plan->handled_fs);
  EXPECT_EQ(RuleFor(*plan, "/")->access, static_cast<uint64_t>(LANDLOCK_ACCESS_FS_READ_DIR));
  uint64_t dev = RuleFor(*plan, "/dev/fuse")->access;
  EXPECT_TRUE(dev & LANDLOCK_ACCESS_FS_WRITE_FILE);
  EXPECT_FALSE(dev & LANDLOCK_ACCESS_FS_EXECUTE);
  EXPECT_EQ((dev & LANDLOCK_ACCESS_FS_IOCTL_DEV) != 0, plan->abi >= 5);
  EXPECT_FALSE(RuleFor(*plan, "/proc")->access & LANDLOCK_ACCESS_FS_WRITE_FILE);
  EXPECT_FALSE(RuleFor(*plan, "/etc")->access & LANDLOCK_ACCESS_FS_WRITE_FILE);
  EXPECT_EQ(RuleFor(*plan, "/lib"), nullptr);
  for (const auto& r : plan->rules) EXPECT_EQ(r.access & ~plan->handled_fs, 0u) << r.path;
}

TEST(LandlockPlanTest, NetworkPortsFromAllowList) {
  Policy p = BasePolicy();
  p.net.mode = NetMode::kUser;
  p.net.allow = {"example.org:443", "10.0.0.0/8:8080", "example.org:443"};
  auto plan = PrepareLandlockForAbi(p, {}, 4);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->handled_net, LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP);
  EXPECT_EQ(plan->connect_ports, (std::vector<uint16_t>{443, 8080}));

  p.net.allow = {"[::1]:22", "127.0.0.1:22"};
  plan = PrepareLandlockForAbi(p, {}, 4);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->connect_ports, (std::vector<uint16_t>{22}));

  for (const char* bad : {"::1", "fd00::/64", "host:0", "host:65536", "host:", "host:*", "host:12a"}) {
    p.net.allow = {bad};
    plan = PrepareLandlockForAbi(p, {}, 4);
    ASSERT_TRUE(plan) << bad;
    EXPECT_FALSE(plan->handled_net & LANDLOCK_ACCESS_NET_CONNECT_TCP) << bad;
  }

  p.net.allow = {"example.org"};  // no single port: connect cannot be restricted by port
  plan = PrepareLandlockForAbi(p, {}, 4);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->handled_net, static_cast<uint64_t>(LANDLOCK_ACCESS_NET_BIND_TCP));
  EXPECT_FALSE(plan->not_enforced.empty());

  p.net.mode = NetMode::kNone;
  plan = PrepareLandlockForAbi(p, {}, 4);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->handled_net, LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP);
  EXPECT_TRUE(plan->connect_ports.empty());

  p.net.mode = NetMode::kHost;
  plan = PrepareLandlockForAbi(p, {}, 4);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->handled_net, 0u);
}

TEST(LandlockEnforceTest, ReadOnlyReadWriteAndOutside) {
  REQUIRE_ABI(1);
  TempTree t;
  ASSERT_TRUE(t.ok()) << "mkdtemp under /var/tmp failed";
  std::string ro = t.Dir("ro"), rw = t.Dir("rw"), outside = t.Dir("outside");
  test::WriteFile(ro + "/data", "ro-data");
  test::WriteFile(outside + "/secret", "secret");
  Policy p = BasePolicy();
  std::vector<MountEntry> mounts = {{MountEntry::Kind::kRoBind, ro, ro}, {MountEntry::Kind::kBind, rw, rw},
                                    // a file rule with directory rights: Apply must mask them out
                                    {MountEntry::Kind::kBind, ro + "/data", ro + "/data"},
                                    {MountEntry::Kind::kRoBind, "/nonexistent-airlock", "/nonexistent-airlock"}};
  auto plan = PrepareLandlockFromParent(p, mounts);
  ASSERT_TRUE(plan) << plan.error().What();
  int rc = InChild([&]() -> int {
    int r = ApplyLandlockInChild(*plan);
    if (r != 0) return 10;
    // ro: reading works, creating fails with EACCES.
    int fd = open((ro + "/data").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 11;
    close(fd);
    fd = open((ro + "/new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0 || errno != EACCES) return 12;
    if (mkdir((ro + "/sub").c_str(), 0755) == 0 || errno != EACCES) return 13;
    // rw: creating and writing work.
    fd = open((rw + "/new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return 14;
    if (write(fd, "x", 1) != 1) return 15;
    close(fd);
    if (mkdir((rw + "/sub").c_str(), 0755) != 0) return 16;
    // outside any rule: reading fails with EACCES.
    fd = open((outside + "/secret").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0 || errno != EACCES) return 17;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "child step failed (see the return codes in the test body)";
  // Outside the child the host is untouched by the restriction.
  EXPECT_EQ(test::ReadFileOrEmpty(outside + "/secret"), "secret");
  EXPECT_TRUE(std::filesystem::exists(rw + "/new"));
}

// A listener on an ephemeral loopback port; port() is 0 on failure.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) || listen(fd_, 4) ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len))
      return;
    port_ = ntohs(a.sin_port);
  }
  ~Listener() {
    if (fd_ >= 0) close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

int ConnectLoopback(uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  int r = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? 0 : -errno;
  close(s);
  return r;
}

TEST(LandlockEnforceTest, ConnectOnlyToAllowedPort) {
  REQUIRE_ABI(4);
  Listener allowed, denied;
  ASSERT_NE(allowed.port(), 0);
  ASSERT_NE(denied.port(), 0);
  ASSERT_EQ(ConnectLoopback(denied.port()), 0);  // reachable before the restriction
  Policy p = BasePolicy();
  p.net.mode = NetMode::kUser;
  p.net.allow = {"127.0.0.1:" + std::to_string(allowed.port())};
  auto plan = PrepareLandlockFromParent(p, {});
  ASSERT_TRUE(plan) << plan.error().What();
  int rc = InChild([&]() -> int {
    if (ApplyLandlockInChild(*plan) != 0) return 10;
    if (ConnectLoopback(allowed.port()) != 0) return 11;
    if (ConnectLoopback(denied.port()) != -EACCES) return 12;
    // bind is handled and never allowed
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(denied.port() == 65535 ? 65534 : denied.port() + 1);
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 || errno != EACCES) return 13;
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

TEST(LandlockEnforceTest, SignalScopedToDomain) {
  REQUIRE_ABI(6);
  pid_t outsider = fork();
  ASSERT_GE(outsider, 0);
  if (outsider == 0) {
    pause();
    _exit(0);
  }
  Policy p = BasePolicy();
  auto plan = PrepareLandlockFromParent(p, {});
  ASSERT_TRUE(plan);
  EXPECT_TRUE(plan->scoped & LANDLOCK_SCOPE_SIGNAL);
  int rc = InChild([&]() -> int {
    if (kill(outsider, 0) != 0) return 9;  // allowed before
    if (ApplyLandlockInChild(*plan) != 0) return 10;
    if (kill(outsider, SIGTERM) == 0 || errno != EPERM) return 11;
    if (kill(getpid(), 0) != 0) return 12;  // inside the domain is fine
    return 0;
  });
  EXPECT_EQ(rc, 0);
  kill(outsider, SIGKILL);
  waitpid(outsider, nullptr, 0);
}

TEST(LandlockEnforceTest, AbstractUnixSocketScopedToDomain) {
  REQUIRE_ABI(6);
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(srv, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::string name = "airlock-landlock-test-" + std::to_string(getpid());
  memcpy(a.sun_path + 1, name.data(), name.size());  // leading NUL: abstract namespace
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr*>(&a), len), 0) << strerror(errno);
  ASSERT_EQ(listen(srv, 4), 0);
  auto connect_abstract = [&]() -> int {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    int r = connect(s, reinterpret_cast<sockaddr*>(&a), len) == 0 ? 0 : -errno;
    close(s);
    return r;
  };
  Policy p = BasePolicy();
  auto plan = PrepareLandlockFromParent(p, {});
  ASSERT_TRUE(plan);
  int rc = InChild([&]() -> int {
    if (connect_abstract() != 0) return 9;  // allowed before
    if (ApplyLandlockInChild(*plan) != 0) return 10;
    if (connect_abstract() != -EPERM) return 11;
    return 0;
  });
  EXPECT_EQ(rc, 0);
  close(srv);
}

}  // namespace
}  // namespace airlock
