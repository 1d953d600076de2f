// Bind sources are resolved without following a symlink another user could point anywhere (issue 12,
// "small ones"; docs/PROFILES.md "Bind sources"): a symlink on the way is followed only if it belongs
// to the caller or to root (the system's layout: /lib -> usr/lib); one of another user, below a
// directory that user can write, is refused with a clear message; and a symlink swapped in after
// airlock resolved the path (here: while a warm pool keeps the resolved plan) fails the sandbox's
// setup instead of being followed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "test_env.h"

using namespace airlock::test;
namespace fs = std::filesystem;

namespace {

class BindSource : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("bind-source");
    ::chmod(dir_.c_str(), 0755);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string dir_;
};

}  // namespace

TEST_F(BindSource, RootsSymlinksOnTheWayAreFollowed) {
  struct stat st {};
  if (lstat("/lib", &st) != 0 || !S_ISLNK(st.st_mode) || st.st_uid != 0) GTEST_SKIP() << "/lib is not root's symlink here";
  auto r = RunAirlock({"--ro-bind", "/lib/x86_64-linux-gnu", "/syslib"}, {"/bin/sh", "-c", "test -d /syslib && echo ok"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "ok\n");
}

TEST_F(BindSource, OwnSymlinksOnTheWayAreFollowed) {
  fs::create_directories(dir_ + "/real");
  WriteFile(dir_ + "/real/data.txt", "mine\n");
  fs::create_symlink("real", dir_ + "/link");
  auto r = RunAirlock({"--ro-bind", dir_ + "/link/data.txt", "/data.txt"}, {"/bin/cat", "/data.txt"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "mine\n");
}

// Root binds /D/shared/conf/config.txt, but /D/shared belongs to another user (12345), who replaced
// conf with a symlink to a directory of root's: the bind would expose root's file. Refused.
TEST_F(BindSource, AnotherUsersSymlinkOnTheWayIsRefused) {
  if (!IsRoot()) GTEST_SKIP() << "needs a second uid to own the symlink (the plan's rule is unit-tested in mount_plan_test)";
  const std::string shared = dir_ + "/shared", secret_dir = dir_ + "/private";
  fs::create_directories(shared);
  fs::create_directories(secret_dir);
  ::chmod(secret_dir.c_str(), 0700);
  WriteFile(secret_dir + "/config.txt", "root-only-secret\n", 0644);
  ASSERT_EQ(::chown(shared.c_str(), 12345, 12345), 0);
  ASSERT_EQ(::symlink(secret_dir.c_str(), (shared + "/conf").c_str()), 0);
  ASSERT_EQ(::lchown((shared + "/conf").c_str(), 12345, 12345), 0);
  auto r = RunAirlock({"--ro-bind", shared + "/conf/config.txt", "/config.txt"}, {"/bin/cat", "/config.txt"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out.find("root-only-secret"), std::string::npos) << "the bind followed another user's symlink";
  EXPECT_NE(r.err.find("'" + shared + "/conf' is a symlink owned by uid 12345 (neither you nor root)"), std::string::npos) << r.err;
}

// The plan resolved the path once (a warm pool keeps it); a symlink that appears on it afterwards
// makes the next sandbox's setup fail (openat2 RESOLVE_NO_SYMLINKS) instead of being followed.
TEST_F(BindSource, SymlinkSwappedInAfterThePlanFailsTheSetup) {
  fs::create_directories(dir_ + "/data/sub");
  WriteFile(dir_ + "/data/sub/file.txt", "original\n");
  fs::create_directories(dir_ + "/elsewhere");
  WriteFile(dir_ + "/elsewhere/file.txt", "swapped\n");
  const std::string profile = dir_ + "/bind.toml", log = dir_ + "/pool.log", socket = dir_ + "/pool.sock";
  WriteFile(profile, "include = [\"default\"]\n[filesystem]\nro_bind = [\"" + dir_ + "/data/sub/file.txt:/file.txt\"]\n");
  ::chmod(dir_.c_str(), 0700);  // the pool's socket directory must be private
  pid_t pool = SpawnLogged({AirlockBin(), "pool", "-v", "--profile", profile, "--socket", socket, "--size", "1"}, log);
  ASSERT_TRUE(WaitForMarker(log, "ready after")) << ReadFileOrEmpty(log);

  // The swap: sub becomes a symlink (the attacker's) to another directory with a file of that name.
  fs::rename(dir_ + "/data/sub", dir_ + "/data/sub.old");
  fs::create_symlink(dir_ + "/elsewhere", dir_ + "/data/sub");
  // The sandbox that was ready opened its source before the swap; it serves this run.
  ::setenv("AIRLOCK_POOL_SOCKET", socket.c_str(), 1);
  auto r = airlock::test::Run({AirlockBin(), "run", "--profile", profile, "--pool", "required", "--", "/bin/cat", "/file.txt"});
  ::unsetenv("AIRLOCK_POOL_SOCKET");
  EXPECT_EQ(r.out, "original\n") << r.err;
  // Its replacement opens the source after the swap: refused, never "swapped".
  EXPECT_TRUE(WaitForMarker(log, "Too many levels of symbolic links")) << ReadFileOrEmpty(log);
  EXPECT_NE(ReadFileOrEmpty(log).find("open bind source"), std::string::npos) << ReadFileOrEmpty(log);
  kill(pool, SIGTERM);
  int st = 0;
  waitpid(pool, &st, 0);
}
