// Idmapped binds (issue 18, "Root and --workdir"; docs/SECURITY.md "Idmapped binds"): as root, a
// read-write bind of a directory root owns is writable by the sandbox (uid 65534 on the host) and what
// it writes stays root's; nothing it creates there can be setuid, setgid, a file capability or a
// device node on the host (seccomp's setid guard, the kernel, nodev); a hard link cannot reach out of
// the bind. An ordinary user's workdir works as before, without an idmap.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "test_env.h"

using namespace airlock::test;
namespace fs = std::filesystem;

namespace {

class IdmappedBind : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("idmap");
    ::chmod(dir_.c_str(), 0755);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // `airlock run ARGS -- CMD` started in `cwd`.
  RunResult RunIn(const std::string& cwd, const std::vector<std::string>& args, const std::vector<std::string>& cmd) {
    std::vector<std::string> argv = {"/usr/bin/env", "-C", cwd, AirlockBin(), "run"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--");
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return airlock::test::Run(argv);
  }
  std::string dir_;
};

// "NAME RESULT" lines of setid_probe.
std::map<std::string, std::string> Lines(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream in(out);
  std::string name, result;
  while (in >> name >> result) m[name] = result;
  return m;
}

// What the probe left in `dir` that would grant privilege on the host ("" when nothing).
std::string PrivilegeLeft(const std::string& dir) {
  std::string found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)) != 0) found += e.path().string() + " is setuid/setgid; ";
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) found += e.path().string() + " is a device node; ";
    if (::lgetxattr(e.path().c_str(), "security.capability", nullptr, 0) >= 0) found += e.path().string() + " has a file capability; ";
  }
  return found;
}

}  // namespace

// `airlock run --profile workdir -- make` as root in a directory root owns: the sandbox changes and
// creates files, and on the host they are root's.
TEST_F(IdmappedBind, RootsWorkdirIsWritableAndFilesStayRoots) {
  if (!IsRoot()) GTEST_SKIP() << "needs root: an ordinary user's workdir is UserWorkdirNeedsNoIdmap";
  WriteFile(dir_ + "/Makefile", "all:\n\techo built > out\n", 0644);
  auto r = RunIn(dir_, {"--profile", "workdir"},
                 {"/bin/sh", "-c", "echo '# changed' >> Makefile && make -s && mkdir sub && echo x > sub/new && id -u && stat -c %u out"});
  if (r.exit_code != 0 && r.err.find("idmapped mount") != std::string::npos) GTEST_SKIP() << "no idmapped mounts here: " << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n0\n") << "inside, the sandbox is root and owns what it made";
  EXPECT_NE(ReadFileOrEmpty(dir_ + "/Makefile").find("# changed"), std::string::npos);
  EXPECT_EQ(ReadFileOrEmpty(dir_ + "/out"), "built\n");
  for (const char* f : {"out", "sub", "sub/new", "Makefile"}) {
    struct stat st {};
    ASSERT_EQ(::lstat((dir_ + "/" + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_uid, 0u) << f << " is not root's on the host";
    EXPECT_EQ(st.st_gid, 0u) << f;
  }
}

// Every way to leave a setuid/setgid file, a file capability or a device node in the idmapped bind
// is refused, with and without the monitor (its notify filters share chmod and open with the guard),
// and with the capabilities kept (weaken.keep_capabilities: CAP_SETFCAP, so only the guard stops a
// file capability); a hard link cannot bring in a file of another mount.
TEST_F(IdmappedBind, NothingCreatedThereGrantsPrivilegeOnTheHost) {
  if (!IsRoot()) GTEST_SKIP() << "needs root: only a root caller's binds are idmapped";
  const std::string other = MakeTempDir("idmap-other");
  ::chmod(other.c_str(), 0755);
  WriteFile(other + "/secret", "root's\n", 0644);
  WriteFile(other + "/keep.toml", "include = [\"default\"]\n[weaken]\nkeep_capabilities = true\n");
  for (const char* variant : {"plain", "monitor", "keep_capabilities"}) {
    SCOPED_TRACE(variant);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ::chmod(dir_.c_str(), 0755);
    std::vector<std::string> args = {"--bind", dir_, "/work", "--ro-bind", HelperDir(), "/h", "--ro-bind", other, "/other"};
    if (std::string(variant) == "monitor") args.insert(args.end(), {"--monitor", other + "/events.jsonl"});
    if (std::string(variant) == "keep_capabilities") args.insert(args.end(), {"--profile", other + "/keep.toml"});
    auto r = RunAirlock(args, {"/h/setid_probe", "/work", "/other/secret"});
    if (r.exit_code != 0 && r.err.find("idmapped mount") != std::string::npos) GTEST_SKIP() << "no idmapped mounts here: " << r.err;
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = Lines(r.out);
    EXPECT_EQ(lines["plain_create"], "ok") << r.out;
    for (const char* refused : {"chmod_suid", "chmod_sgid", "fchmod_suid", "fchmodat_sgid", "fchmodat2_suid", "open_suid",
                                "openat_sgid", "creat_suid", "tmpfile_suid", "mknod_suid", "mknodat_sgid", "mknod_chr",
                                "xattr_cap", "xattr_user"}) {
      EXPECT_EQ(lines[refused], "EPERM") << refused << "\n" << r.out;
    }
    EXPECT_EQ(lines["openat2_suid"], "ENOSYS") << r.out;
    EXPECT_EQ(lines["setxattrat"], "ENOSYS") << r.out;
    EXPECT_EQ(lines["link_outside"], "EXDEV") << r.out;
    EXPECT_EQ(lines["mkdir_setid"], "ok") << "the kernel keeps only the permission and sticky bits\n" << r.out;
    EXPECT_EQ(PrivilegeLeft(dir_), "");
    struct stat st {};
    ASSERT_EQ(::stat((dir_ + "/plain").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
  }
  fs::remove_all(other);
}

// --explain says which binds are idmapped: a root-owned read-write bind is, a read-only bind, a
// directory the sandbox's user owns already and a shared sticky directory are not.
TEST_F(IdmappedBind, ExplainNamesTheIdmappedBinds) {
  if (!IsRoot()) GTEST_SKIP() << "needs root: only a root caller's binds are idmapped";
  const std::string own = dir_ + "/sandboxes", shared = dir_ + "/shared";
  fs::create_directories(own);
  fs::create_directories(shared);
  ASSERT_EQ(::chown(own.c_str(), 65534, 65534), 0);
  ::chmod(shared.c_str(), 01777);
  auto r = RunAirlock({"--explain", "--bind", dir_, "/a", "--ro-bind", dir_, "/b", "--bind", own, "/c", "--bind", shared, "/d"}, {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::string line, after;  // the note follows its mount's line
  std::map<std::string, std::string> note;
  for (std::string prev; std::getline(in, line); prev = line) {
    if (line.find("    idmapped") != std::string::npos || line.find("    not idmapped") != std::string::npos) note[prev] = line;
  }
  auto note_of = [&note](const std::string& needle) {
    for (const auto& [mount, n] : note)
      if (mount.find(needle) != std::string::npos) return n;
    return std::string();
  };
  EXPECT_NE(note_of("rw  bind    /a <- ").find("idmapped: the host owner 0:0 is the sandbox's user"), std::string::npos) << r.out;
  EXPECT_EQ(note_of("ro  bind    /b <- "), "") << r.out;
  EXPECT_EQ(note_of("rw  bind    /c <- "), "") << r.out;
  EXPECT_NE(note_of("rw  bind    /d <- ").find("not idmapped: a shared sticky directory"), std::string::npos) << r.out;
}

// A filesystem without idmapped mounts (sysfs here) fails the run before it starts, saying what to do.
TEST_F(IdmappedBind, AFilesystemWithoutIdmapsFailsWithTheFix) {
  if (!IsRoot()) GTEST_SKIP() << "needs root: only a root caller's binds are idmapped";
  struct stat st {};
  if (::stat("/sys/kernel/mm", &st) != 0 || st.st_uid != 0) GTEST_SKIP() << "no root-owned /sys/kernel/mm here";
  auto r = RunAirlock({"--bind", "/sys/kernel/mm", "/mm"}, {"/bin/true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("idmapped mount, which this filesystem (sysfs)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("chown 65534:65534 /sys/kernel/mm"), std::string::npos) << r.err;
}

// An ordinary user's sandbox is that user on the host: its own directory is writable without any
// idmap, and what it creates is its own.
TEST_F(IdmappedBind, UserWorkdirNeedsNoIdmap) {
  if (IsRoot()) GTEST_SKIP() << "the user tier runs this (as root the bind is idmapped: RootsWorkdirIsWritableAndFilesStayRoots)";
  WriteFile(dir_ + "/input", "x\n", 0644);
  auto r = RunIn(dir_, {"--profile", "workdir"}, {"/bin/sh", "-c", "echo y >> input && echo built > out"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/out").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(ReadFileOrEmpty(dir_ + "/input"), "x\ny\n");
  auto explain = RunIn(dir_, {"--profile", "workdir", "--explain"}, {});
  EXPECT_EQ(explain.out.find("idmapped"), std::string::npos) << explain.out;
}

// io_uring would perform opens and xattr writes seccomp never sees: with an idmapped bind, a policy
// allowing it is refused before the sandbox starts.
TEST_F(IdmappedBind, APolicyThatBypassesTheGuardIsRefused) {
  if (!IsRoot()) GTEST_SKIP() << "needs root: only a root caller's binds are idmapped";
  auto r = RunAirlock({"--bind", dir_, "/work", "--allow", "@io-uring"}, {"/bin/true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("needs seccomp's setid guard, which io_uring would bypass"), std::string::npos) << r.err;
}
