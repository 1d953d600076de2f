// The pool's default socket directory cannot be taken by another local user (issue 12, "small ones"):
// when /tmp/airlock-UID is squatted (another user's directory, or a symlink), `airlock pool` neither
// fails nor uses it: it serves from a private /tmp/airlock-UID.XXXXXX of its own (mode 0700, owned by
// the user) and `airlock run` finds it there. As root, the test squats the directory of another uid as
// root and runs pool and client as that uid (setpriv); as uid 65534 it squats its own name with a
// symlink (it cannot create another user's directory).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "test_env.h"

using namespace airlock::test;

namespace {

constexpr uid_t kOtherUid = 64917;  // the user whose directory root squats (no account needed)

// argv run as `uid`: through setpriv when the test is root, as is otherwise.
std::vector<std::string> AsUser(uid_t uid, std::vector<std::string> argv) {
  if (geteuid() != 0) return argv;
  std::string id = std::to_string(uid);
  std::vector<std::string> out = {"/usr/bin/setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups",
                                  "--inh-caps=-all", "--bounding-set=-all", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

// The private fallback directories /tmp/airlock-UID.XXXXXX (the pool's, from this or an earlier run).
std::vector<std::string> FallbackDirs(uid_t uid) {
  std::vector<std::string> out;
  std::string prefix = "airlock-" + std::to_string(uid) + ".";
  if (DIR* d = opendir("/tmp")) {
    while (dirent* e = readdir(d)) {
      if (std::string(e->d_name).rfind(prefix, 0) == 0) out.push_back(std::string("/tmp/") + e->d_name);
    }
    closedir(d);
  }
  return out;
}

class SquattedSocketDir : public ::testing::Test {
 protected:
  void SetUp() override {
    uid_ = IsRoot() ? kOtherUid : geteuid();
    squat_ = "/tmp/airlock-" + std::to_string(uid_);
    Cleanup();
    dir_ = MakeTempDir("pool-squat");
    ::chmod(dir_.c_str(), 0755);  // the profile and the log, readable by the pool's user
    profile_ = dir_ + "/squat.toml";
    WriteFile(profile_, "include = [\"default\"]\n[process]\nhostname = \"squat-test\"\n");
    log_ = dir_ + "/pool.log";
    std::error_code ec;
    if (IsRoot()) {
      ASSERT_EQ(mkdir(squat_.c_str(), 0755), 0) << squat_;  // root's: another user's for uid_
    } else if (!std::filesystem::exists(std::filesystem::symlink_status(squat_, ec))) {
      std::string target = dir_ + "/target";
      ASSERT_EQ(mkdir(target.c_str(), 0700), 0);
      ASSERT_EQ(symlink(target.c_str(), squat_.c_str()), 0) << squat_;
    }
    ::unsetenv("AIRLOCK_POOL_SOCKET");
    ::unsetenv("XDG_RUNTIME_DIR");
  }
  void TearDown() override {
    if (pool_ > 0) {
      kill(pool_, SIGTERM);
      int st = 0;
      waitpid(pool_, &st, 0);
    }
    Cleanup();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Cleanup() {
    std::error_code ec;
    for (const auto& d : FallbackDirs(uid_)) std::filesystem::remove_all(d, ec);
    struct stat st {};
    if (lstat(squat_.c_str(), &st) == 0 && (S_ISLNK(st.st_mode) || st.st_uid == geteuid())) {
      std::filesystem::remove_all(squat_, ec);
    }
  }

  uid_t uid_ = 0;
  std::string squat_, dir_, profile_, log_;
  pid_t pool_ = -1;
};

}  // namespace

TEST_F(SquattedSocketDir, PoolServesFromAPrivateDirectoryOfItsOwn) {
  struct stat before {};
  ASSERT_EQ(lstat(squat_.c_str(), &before), 0);
  pool_ = SpawnLogged(AsUser(uid_, {AirlockBin(), "pool", "-v", "--profile", profile_, "--size", "1"}), log_);
  ASSERT_TRUE(WaitForMarker(log_, "ready after")) << "the pool did not start with " << squat_ << " squatted:\n" << ReadFileOrEmpty(log_);
  EXPECT_NE(ReadFileOrEmpty(log_).find(squat_ + " is not a private directory of uid " + std::to_string(uid_)), std::string::npos)
      << ReadFileOrEmpty(log_);

  // Its socket: in exactly one /tmp/airlock-UID.XXXXXX, a directory of the user's with mode 0700.
  std::vector<std::string> dirs = FallbackDirs(uid_);
  ASSERT_EQ(dirs.size(), 1u) << ReadFileOrEmpty(log_);
  struct stat st {};
  ASSERT_EQ(lstat(dirs[0].c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_uid, uid_);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(access((dirs[0] + "/pool.sock").c_str(), F_OK), 0);

  // The client finds it: a run that must be served warm is.
  auto r = airlock::test::Run(AsUser(uid_, {AirlockBin(), "run", "--profile", profile_, "--pool", "required", "--", "/bin/hostname"}));
  EXPECT_EQ(r.exit_code, 0) << r.err << "\npool:\n" << ReadFileOrEmpty(log_);
  EXPECT_EQ(r.out, "squat-test\n");

  // Nothing was put into the squatted directory (or through the symlink).
  struct stat after {};
  ASSERT_EQ(lstat(squat_.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(access((squat_ + "/pool.sock").c_str(), F_OK), -1);
}
