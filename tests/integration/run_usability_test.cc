// What a new user trips over with `airlock run` (issue 18): the bind forms people type, an unknown
// option, a command the sandbox cannot see, and binding a directory at or above /tmp (where the
// sandbox builds its root). Each error names the fix; each form that should work does. Runs as root
// (integration.root) and as uid 65534 (integration.user).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "test_env.h"

using namespace airlock::test;

namespace {

class RunUsability : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("usability");
    ::chmod(dir_.c_str(), 0755);  // root's sandbox is an unprivileged host user
    WriteFile(dir_ + "/hello.sh", "#!/bin/sh\necho hello\n", 0755);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // `airlock run ARGS...` started in dir_.
  RunResult RunIn(const std::string& args) {
    return airlock::test::Run({"/bin/sh", "-c", "cd '" + dir_ + "' && exec '" + AirlockBin() + "' run " + args});
  }
  std::string dir_;
};

TEST_F(RunUsability, BindTakesSrcColonDstAndNamesAMissingDestination) {
  auto r = RunAirlock({"--ro-bind", dir_ + ":/data"}, {"/data/hello.sh"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n");
  r = RunAirlock({"--ro-bind=" + dir_ + ":/data"}, {"/data/hello.sh"});
  EXPECT_EQ(r.out, "hello\n") << r.err;
  // Before: "--" taken as the destination, a profile error (122) blaming policy 'default'.
  r = RunAirlock({"--ro-bind", dir_}, {"/bin/true"});
  EXPECT_EQ(r.exit_code, 121);
  EXPECT_NE(r.err.find("a destination is needed: --ro-bind SRC DST, or --ro-bind SRC:DST"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("policy 'default'"), std::string::npos) << r.err;
}

TEST_F(RunUsability, AnUnknownOptionIsNamed) {
  auto r = RunAirlock({"--frobnicate"}, {"/bin/true"});
  EXPECT_EQ(r.exit_code, 121);
  EXPECT_NE(r.err.find("unknown option --frobnicate"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("were not expected"), std::string::npos) << r.err;
}

TEST_F(RunUsability, ACommandNotFoundInsideSaysHowToFix) {
  auto r = RunIn("-- ./hello.sh");
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("--workdir binds the current directory"), std::string::npos) << r.err;
  r = RunIn("--workdir -- ./hello.sh");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n");
  r = RunAirlock({}, {dir_ + "/hello.sh"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("exists on the host but the sandbox does not see it: --ro-bind " + dir_ + " " + dir_), std::string::npos) << r.err;
  // A profile of one's own without include = ["default"] has nothing at /usr.
  WriteFile(dir_ + "/bare.toml", "[process]\nhostname = \"bare\"\n");
  r = RunAirlock({"--profile", dir_ + "/bare.toml"}, {"true"});
  EXPECT_EQ(r.exit_code, 127) << r.err;
  EXPECT_NE(r.err.find("the policy mounts nothing at /usr"), std::string::npos) << r.err;
}

// The sandbox's root is built on a tmpfs mounted at /tmp in its own mount namespace: a bind of /tmp
// (or of /) used to clone that mount along with the host's tree and fail ("verify bind: wrong
// object"). The source is now cloned before the root exists: the host's /tmp shows.
TEST_F(RunUsability, BindingTmpOrTheRootShowsTheHostTree) {
  const std::string rel = dir_.substr(std::string("/tmp").size());
  if (dir_.rfind("/tmp/", 0) != 0) GTEST_SKIP() << "TMPDIR is not /tmp: " << dir_;
  auto r = RunAirlock({"--ro-bind", "/tmp", "/hosttmp"}, {"/bin/cat", "/hosttmp" + rel + "/hello.sh"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "#!/bin/sh\necho hello\n");
  r = RunAirlock({"--ro-bind", "/", "/host"}, {"/bin/cat", "/host" + dir_ + "/hello.sh"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "#!/bin/sh\necho hello\n");
}

}  // namespace

namespace {

// `airlock --version` says which commit and what this installation can do: each command's helper
// binary as found now, or "(not installed)".
TEST(Version, NamesTheCommitAndEachHelper) {
  auto r = airlock::test::Run({AirlockBin(), "--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("airlock 0.", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("(commit "), std::string::npos) << r.out;
  if (std::filesystem::exists(SourceDir() + "/.git")) {
    EXPECT_EQ(r.out.find("(commit unknown)"), std::string::npos) << "built from a git checkout: " << r.out;
  }
  EXPECT_NE(r.out.find("built in: run, pool, box, ps, stop"), std::string::npos) << r.out;
  // The test tier runs next to the built helpers (or their staged copies).
  EXPECT_NE(r.out.find("/airlock-scan\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/airlock-boxtar\n"), std::string::npos) << r.out;
}

}  // namespace

namespace {

// Help and errors of the analysis commands name the command a user typed (`airlock scan`), not the
// helper binary behind it (`airlock-scan`).
TEST(HelperNames, HelpAndErrorsSayTheCommand) {
  for (const char* cmd : {"scan", "audit", "rules"}) {
    auto r = airlock::test::Run({AirlockBin(), cmd, "--help"});
    EXPECT_NE((r.out + r.err).find(std::string("airlock ") + cmd), std::string::npos) << cmd << ": " << r.out;
    EXPECT_EQ((r.out + r.err).find(std::string("Usage: airlock-") + cmd), std::string::npos) << cmd << ": " << r.out;
  }
  auto r = airlock::test::Run({AirlockBin(), "audit", "/nonexistent/profile.toml"});
  EXPECT_NE(r.err.find("airlock audit: "), std::string::npos) << r.err;
  r = airlock::test::Run({AirlockBin(), "rules", "check", "/nonexistent"});
  EXPECT_NE(r.err.find("airlock rules: "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("airlock-rules"), std::string::npos) << r.err;
}

}  // namespace
