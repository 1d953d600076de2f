// The uid/gid mapping plan and its writing (src/userns/userns.h): a root caller maps the sandbox to an
// unprivileged host id (never host root), an unprivileged caller maps to itself with setgroups denied.
// The unprivileged side is exercised in a forked child that drops to uid/gid 65534 (root runs only).
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <linux/nsfs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "userns/userns.h"

using namespace airlock;

namespace {

constexpr int kSkip = 77;

// Runs fn in a forked child; returns its exit code (fn's return value), or -1 if it did not exit.
int InChild(const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid == 0) _exit(fn());
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Changing credentials clears the dumpable flag, which leaves /proc/PID/* owned by root: set it back,
// as a process started by an unprivileged user has it.
bool DropToNobody() {
  return ::setgroups(0, nullptr) == 0 && ::setresgid(65534, 65534, 65534) == 0 && ::setresuid(65534, 65534, 65534) == 0 &&
         ::prctl(PR_SET_DUMPABLE, 1) == 0;
}

// "inside outside count" of the first line of /proc/PID/{uid,gid}_map.
std::string MapLine(pid_t pid, const char* file) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/" + file);
  long a = -1, b = -1, c = -1;
  f >> a >> b >> c;
  std::ostringstream s;
  s << a << " " << b << " " << c;
  return s.str();
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

// Forks a process into a new user namespace, writes `m` from this side, and compares what the kernel
// shows with the expectation. Returns "" on success, else what differed.
std::string WriteAndReadBack(const IdMapping& m, const std::string& want_setgroups) {
  int ready[2], go[2];
  if (::pipe2(ready, O_CLOEXEC) != 0 || ::pipe2(go, O_CLOEXEC) != 0) return "pipe";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(go[1]);  // or the read below never sees EOF
    ::close(ready[0]);
    char c = ::unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
    if (::write(ready[1], &c, 1) != 1) _exit(1);
    if (::read(go[0], &c, 1) < 0) _exit(1);
    _exit(0);
  }
  ::close(ready[1]);
  ::close(go[0]);
  char c = 0;
  std::string problem;
  if (::read(ready[0], &c, 1) != 1 || c != 'y') {
    problem = "unshare(CLONE_NEWUSER) failed";
  } else if (auto s = WriteIdMapsFromParent(pid, m); !s) {
    problem = "WriteIdMapsFromParent: " + s.error().What();
  } else {
    std::string uid = MapLine(pid, "uid_map"), gid = MapLine(pid, "gid_map");
    std::string want_uid = std::to_string(m.inside_uid) + " " + std::to_string(m.outside_uid) + " 1";
    std::string want_gid = std::to_string(m.inside_gid) + " " + std::to_string(m.outside_gid) + " 1";
    if (uid != want_uid) problem += "uid_map '" + uid + "' != '" + want_uid + "'; ";
    if (gid != want_gid) problem += "gid_map '" + gid + "' != '" + want_gid + "'; ";
    std::string sg = ReadFirstLine("/proc/" + std::to_string(pid) + "/setgroups");
    if (sg != want_setgroups) problem += "setgroups '" + sg + "' != '" + want_setgroups + "'";
  }
  ::close(go[1]);
  ::close(ready[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return problem;
}

}  // namespace

TEST(PlanIdMapping, RootMapsToAnUnprivilegedHostId) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED: needs root (the root branch of the plan)";
  auto m = PlanIdMapping(IdentityPolicy{});
  ASSERT_TRUE(m) << m.error().What();
  EXPECT_TRUE(m->caller_is_root);
  EXPECT_EQ(m->inside_uid, 0u);
  EXPECT_EQ(m->inside_gid, 0u);
  EXPECT_EQ(m->outside_uid, 65534u);
  EXPECT_EQ(m->outside_gid, 65534u);

  IdentityPolicy custom;
  custom.uid = 1000;
  custom.gid = 1001;
  custom.outside_uid_when_root = 70000;
  custom.outside_gid_when_root = 70001;
  m = PlanIdMapping(custom);
  ASSERT_TRUE(m) << m.error().What();
  EXPECT_EQ(m->inside_uid, 1000u);
  EXPECT_EQ(m->inside_gid, 1001u);
  EXPECT_EQ(m->outside_uid, 70000u);
  EXPECT_EQ(m->outside_gid, 70001u);
}

TEST(PlanIdMapping, RootRefusesToMapToHostRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED: needs root (the root branch of the plan)";
  IdentityPolicy uid0;
  uid0.outside_uid_when_root = 0;
  auto m = PlanIdMapping(uid0);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().What().find("must not be 0"), std::string::npos) << m.error().What();
  IdentityPolicy gid0;
  gid0.outside_gid_when_root = 0;
  EXPECT_FALSE(PlanIdMapping(gid0));
}

TEST(PlanIdMapping, UnprivilegedCallerMapsToItself) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED: needs root to drop to uid 65534 in a child";
  int rc = InChild([] {
    if (!DropToNobody()) return 2;
    auto m = PlanIdMapping(IdentityPolicy{});
    if (!m || m->caller_is_root) return 3;
    if (m->inside_uid != 65534 || m->inside_gid != 65534 || m->outside_uid != 65534 || m->outside_gid != 65534) return 4;
    // An inside uid of 0 is allowed (root in the namespace only); the "when root" outside ids are ignored.
    IdentityPolicy p;
    p.uid = 0;
    p.gid = 0;
    p.outside_uid_when_root = 0;
    m = PlanIdMapping(p);
    if (!m) return 5;
    if (m->inside_uid != 0 || m->inside_gid != 0 || m->outside_uid != 65534 || m->outside_gid != 65534) return 6;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "2: drop failed, 3: plan failed or says root, 4: default ids, 5/6: inside root";
}

TEST(WriteIdMapsFromParent, RootWritesTheMapsAndKeepsSetgroups) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED: needs root";
  if (std::string why = DiagnoseUserNamespaces(); !why.empty()) GTEST_SKIP() << "SKIPPED: " << why;
  auto m = PlanIdMapping(IdentityPolicy{});
  ASSERT_TRUE(m);
  EXPECT_EQ(WriteAndReadBack(*m, "allow"), "");
}

TEST(WriteIdMapsFromParent, UnprivilegedDeniesSetgroupsFirst) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED: needs root to drop to uid 65534 in a child";
  int rc = InChild([] {
    if (!DropToNobody()) return 2;
    if (!DiagnoseUserNamespaces().empty()) return kSkip;
    IdentityPolicy p;
    p.uid = 0;
    auto m = PlanIdMapping(p);
    if (!m) return 3;
    std::string problem = WriteAndReadBack(*m, "deny");
    if (problem == "unshare(CLONE_NEWUSER) failed") return kSkip;
    if (!problem.empty()) {
      std::fprintf(stderr, "%s\n", problem.c_str());
      return 4;
    }
    return 0;
  });
  if (rc == kSkip) GTEST_SKIP() << "SKIPPED: unprivileged user namespaces are not available here";
  EXPECT_EQ(rc, 0);
}

TEST(WriteIdMapsFromParent, NoSuchProcessIsAnErrorWithContext) {
  IdMapping m;
  m.inside_uid = 0;
  m.outside_uid = 65534;
  m.outside_gid = 65534;
  // pid_max is at most 2^22: this pid cannot exist.
  auto s = WriteIdMapsFromParent(1 << 23, m);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().What().find("uid_map"), std::string::npos) << s.error().What();
  EXPECT_NE(s.error().What().find("user namespace"), std::string::npos) << s.error().What();
  EXPECT_EQ(s.error().err(), ENOENT);
}

// Root: a clone made between Take and Restore creates a user namespace OWNED by the outside uid (its
// per-user counters are charged to that uid, not to root) while the child keeps root's filesystem
// uid (it opens bind sources as root); the parent is root again afterwards, and stays dumpable.
TEST(NamespaceOwner, RootCloneIsOwnedByTheOutsideUid) {
  if (::geteuid() != 0) GTEST_SKIP() << "SKIPPED: needs root";
  if (std::string why = DiagnoseUserNamespaces(); !why.empty()) GTEST_SKIP() << "SKIPPED: " << why;
  int rc = InChild([] {
    auto m = PlanIdMapping(IdentityPolicy{});
    if (!m || m->outside_uid == 0) return 2;
    const int dumpable = ::prctl(PR_GET_DUMPABLE);
    auto saved = TakeNamespaceOwnerIdsFromParent(*m);
    if (!saved) {
      std::fprintf(stderr, "%s\n", saved.error().What().c_str());
      return 3;
    }
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return 4;
    char secret[] = "/tmp/airlock-owner-XXXXXX";  // root's, mode 0600
    int sfd = ::mkstemp(secret);
    if (sfd < 0) return 4;
    ::close(sfd);
    pid_t child = static_cast<pid_t>(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (child == 0) {
      // Root's filesystem uid: a root-only file of the host can still be opened here.
      int fd = ::open(secret, O_RDONLY | O_CLOEXEC);
      char c = fd >= 0 ? 'y' : 'n';
      (void)!::write(ready[1], &c, 1);
      ::pause();
      _exit(0);
    }
    if (Status st = RestoreIdsFromParent(*saved); !st) return 5;
    if (child < 0) return 6;
    char c = 0;
    const bool opened = ::read(ready[0], &c, 1) == 1 && c == 'y';
    ::unlink(secret);
    if (!opened) {
      ::kill(child, SIGKILL);
      ::waitpid(child, nullptr, 0);
      return 7;
    }
    int ns = ::open(("/proc/" + std::to_string(child) + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC);
    uid_t owner = 12345;
    bool owned = ns >= 0 && ::ioctl(ns, NS_GET_OWNER_UID, &owner) == 0 && owner == m->outside_uid;
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    if (!owned) {
      std::fprintf(stderr, "owner %u, want %u\n", owner, m->outside_uid);
      return 8;
    }
    uid_t r, e, s;
    ::getresuid(&r, &e, &s);
    if (r != 0 || e != 0 || s != 0 || ::getegid() != 0) return 9;
    if (::prctl(PR_GET_DUMPABLE) != dumpable) return 10;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "2: plan, 3: take, 5: restore, 7: child's fsuid, 8: owner, 9: ids not restored, 10: dumpable";
}

// An unprivileged caller owns its namespaces already: nothing is changed.
TEST(NamespaceOwner, UnprivilegedCallerChangesNothing) {
  IdMapping m;
  m.caller_is_root = false;
  m.outside_uid = 1000;
  auto saved = TakeNamespaceOwnerIdsFromParent(m);
  ASSERT_TRUE(saved);
  EXPECT_FALSE(saved->changed);
  EXPECT_TRUE(RestoreIdsFromParent(*saved));
}
