// What /proc/PID/cmdline shows of a process cloned from airlock (process/proc_title.h): the argv and
// environment areas found in the parent, overwritten in a forked child.
#include <errno.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "process/proc_title.h"

using namespace airlock;

namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

TEST(ProcTitle, FindsThisProcessArgvAndEnvironment) {
  ProcTitleArea a = FindProcTitleArea();
  ASSERT_GT(a.arg_end, a.arg_start);
  EXPECT_EQ(a.arg_start, reinterpret_cast<uintptr_t>(program_invocation_name)) << "argv[0] opens the area";
  EXPECT_EQ(a.arg_end - a.arg_start, ReadAll("/proc/self/cmdline").size());
  EXPECT_GE(a.env_end, a.env_start);
}

TEST(ProcTitle, ChildShowsOnlyTheTitleAndNoEnvironment) {
  ProcTitleArea a = FindProcTitleArea();
  ASSERT_GT(a.arg_end, a.arg_start);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    SetProcTitleInChild(a, "airlock-init");
    std::string cmdline = ReadAll("/proc/self/cmdline"), environ_text = ReadAll("/proc/self/environ");
    std::string report = cmdline.substr(0, cmdline.find('\0')) + "|" + std::to_string(cmdline.size()) + "|" +
                         (environ_text.find_first_not_of('\0') == std::string::npos ? "clean" : "dirty");
    (void)!write(p[1], report.data(), report.size());
    _exit(0);
  }
  close(p[1]);
  char buf[256] = {};
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  waitpid(pid, nullptr, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)),
            "airlock-init|" + std::to_string(a.arg_end - a.arg_start) + "|clean");
  // The parent is untouched.
  EXPECT_NE(ReadAll("/proc/self/cmdline").find("unit_proc_title_test"), std::string::npos);
}

TEST(ProcTitle, ATitleLongerThanTheAreaIsCutAndTerminated) {
  ProcTitleArea a = FindProcTitleArea();
  ASSERT_GT(a.arg_end, a.arg_start);
  pid_t pid = fork();
  if (pid == 0) {
    std::string longer(a.arg_end - a.arg_start + 100, 'x');
    SetProcTitleInChild(a, longer.c_str());
    std::string cmdline = ReadAll("/proc/self/cmdline");
    _exit(cmdline.size() == a.arg_end - a.arg_start && cmdline.back() == '\0' ? 0 : 1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

}  // namespace
