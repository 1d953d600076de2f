// What /proc/PID/cmdline shows of a process cloned from airlock (process/proc_title.h): the argv and
// environment area found in the parent, overwritten in a forked child.
#include <errno.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "process/proc_title.h"

using namespace airlock;

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// arg_start, arg_end, env_start, env_end as the kernel has them (proc(5): /proc/PID/stat fields 48-51).
std::vector<unsigned long long> KernelAreas() {
  std::string stat = ReadAll("/proc/self/stat");
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);  // fields[0] is field 3
  std::vector<unsigned long long> v;
  for (int field = 48; field <= 51; ++field) v.push_back(std::stoull(fields.at(static_cast<size_t>(field - 3))));
  return v;
}

TEST(ProcTitle, TheAreaIsTheKernelsArgvAndEnvironment) {
  ProcTitleArea a = FindProcTitleArea();
  auto k = KernelAreas();
  EXPECT_EQ(a.start, k[0]) << "argv[0] opens the area";
  EXPECT_EQ(k[1], k[2]) << "the environment follows the arguments";
  EXPECT_GE(a.end, k[3]) << "the executable's name lies above the environment";
  EXPECT_LE(a.end - k[3], 4096u) << "and right above it";
}

TEST(ProcTitle, ChildShowsOnlyTheTitleAndNoEnvironment) {
  ProcTitleArea a = FindProcTitleArea();
  ASSERT_GT(a.end, a.start);
  ::setenv("AIRLOCK_PROC_TITLE_SECRET", "hunter2", 1);  // a new string elsewhere: not in the area, not exec'd
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    SetProcTitleInChild(a, "airlock-init");
    std::string cmdline = ReadAll("/proc/self/cmdline"), environ_text = ReadAll("/proc/self/environ");
    std::string report = cmdline.substr(0, cmdline.find('\0')) + "|" +
                         (cmdline.find_first_not_of('\0', 12) == std::string::npos ? "only NULs after" : "more") + "|" +
                         (environ_text.find_first_not_of('\0') == std::string::npos ? "clean" : "dirty");
    (void)!write(p[1], report.data(), report.size());
    _exit(0);
  }
  close(p[1]);
  char buf[256] = {};
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  waitpid(pid, nullptr, 0);
  ::unsetenv("AIRLOCK_PROC_TITLE_SECRET");
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "airlock-init|only NULs after|clean");
  // The parent is untouched.
  EXPECT_NE(ReadAll("/proc/self/cmdline").find("unit_proc_title_test"), std::string::npos);
}

TEST(ProcTitle, ATitleLongerThanTheAreaIsCutAndTerminated) {
  ProcTitleArea a = FindProcTitleArea();
  ASSERT_GT(a.end, a.start);
  pid_t pid = fork();
  if (pid == 0) {
    std::string longer(a.end - a.start + 100, 'x');
    SetProcTitleInChild(a, longer.c_str());
    // Every byte of the area is the title now (the last one excepted: the terminator): nothing of the
    // original argv (a '/' in argv[0]) or environment ('=') shows.
    std::string shown = ReadAll("/proc/self/cmdline") + ReadAll("/proc/self/environ");
    _exit(shown.find('x') == 0 && shown.find_first_of("/=") == std::string::npos ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

}  // namespace
