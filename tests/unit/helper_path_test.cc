// core/helper_path.h: one rule for sibling binaries, overrides first.
#include "core/helper_path.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old, had_ = true;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_) setenv(name_, old_.c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

std::string MakeExecutable(const std::string& dir, const std::string& name) {
  fs::create_directories(dir);
  std::string p = dir + "/" + name;
  std::ofstream(p) << "#!/bin/sh\n";
  chmod(p.c_str(), 0755);
  return fs::canonical(p).string();
}

TEST(HelperPath, BuildDirs) {
  EXPECT_EQ(airlock::HelperBuildDir("airlock"), "cli");
  EXPECT_EQ(airlock::HelperBuildDir("airlock-scan"), "scan");
  EXPECT_EQ(airlock::HelperBuildDir("airlock-analyze"), "analyze");
  EXPECT_EQ(airlock::HelperBuildDir("airlock-browse"), "analyze");
  EXPECT_EQ(airlock::HelperBuildDir("airlock-milter"), "milter");
  EXPECT_EQ(airlock::HelperBuildDir("airlock-audit"), "audit");
  EXPECT_EQ(airlock::HelperBuildDir("airlock-serve"), "service");
  EXPECT_EQ(airlock::HelperBuildDir("airlock-worker"), "service");
}

TEST(HelperPath, CandidatesFollowTheOneRule) {
  std::string self = airlock::SelfExe();
  ASSERT_FALSE(self.empty());
  std::string dir = fs::path(self).parent_path().string();
  auto c = airlock::HelperCandidates("airlock-scan");
  std::vector<std::string> want = {dir + "/airlock-scan", dir + "/../scan/airlock-scan", dir + "/../../src/scan/airlock-scan",
                                   dir + "/../libexec/airlock/airlock-scan", dir + "/../../bin/airlock-scan",
                                   dir + "/../bin/airlock-scan", std::string(AIRLOCK_LIBEXECDIR) + "/airlock-scan"};
  if (getenv("AIRLOCK_LIBEXEC_DIR") == nullptr) {
    EXPECT_EQ(c, want);
  }
}

TEST(HelperPath, OverridesWinAndBadOnesAreSkipped) {
  std::string tmp = fs::temp_directory_path() / ("helper-path-" + std::to_string(getpid()));
  std::string libexec_scan = MakeExecutable(tmp + "/libexec", "airlock-scan");
  std::string bin_airlock = MakeExecutable(tmp + "/bin", "airlock");
  {
    ScopedEnv libexec("AIRLOCK_LIBEXEC_DIR", tmp + "/libexec");
    EXPECT_EQ(airlock::FindHelper("airlock-scan"), libexec_scan);
  }
  {
    ScopedEnv bin("AIRLOCK_BIN", tmp + "/bin/airlock");
    EXPECT_EQ(airlock::FindHelper("airlock"), bin_airlock);
    EXPECT_NE(airlock::FindHelper("airlock-nothing-like-this"), bin_airlock);  // AIRLOCK_BIN names only airlock
  }
  {
    ScopedEnv bin("AIRLOCK_BIN", tmp + "/bin");  // a directory is not a program: skipped
    EXPECT_NE(airlock::FindHelper("airlock"), tmp + "/bin");
  }
  EXPECT_EQ(airlock::FindHelper("airlock-nothing-like-this"), "");
  fs::remove_all(tmp);
}

TEST(HelperPath, RulesDirOverride) {
  ScopedEnv rules("AIRLOCK_RULES_DIR", "/some/rules");
  EXPECT_EQ(airlock::FindRulesDir("yara", "/src/rules"), "/some/rules");
}

}  // namespace
