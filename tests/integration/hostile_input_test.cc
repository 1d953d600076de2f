// Nothing lost to hostile input (issue 12): names that are not UTF-8 reach every JSON writer of a
// real run (the run report, the monitor's events, the sinkhole's records, analyze's report) and are
// kept as \xNN; SIGINT to `airlock run --on-interrupt kill` and to `airlock analyze` (its whole process
// group, as a terminal's Ctrl-C) kills the sandbox at once and the report is still written, marked
// interrupted. Root and user tiers (tests/cmake/AirlockTiers.cmake).
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "test_env.h"

using namespace airlock::test;
using nlohmann::json;

namespace {

bool NftablesMissing() {
  return ReadFileOrEmpty("/usr/lib/x86_64-linux-gnu/libnftables.so.1").empty() &&
         airlock::test::Run({"/bin/sh", "-c", "ldconfig -p | grep -q libnftables.so.1"}).exit_code != 0;
}

// Every line of a JSON-lines file, parsed with the strict parser (a line that is not valid JSON, or
// not UTF-8, fails the test).
std::vector<json> StrictLines(const std::string& path) {
  std::vector<json> out;
  std::istringstream in(ReadFileOrEmpty(path));
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << path << ": not JSON: " << line;
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

json StrictFile(const std::string& path) {
  json j = json::parse(ReadFileOrEmpty(path), nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << path << " is not valid JSON:\n" << ReadFileOrEmpty(path);
  return j.is_discarded() ? json::object() : j;
}

bool AnyEvent(const std::vector<json>& events, const char* field, const std::string& value) {
  for (const auto& e : events)
    if (e.value(field, "") == value) return true;
  return false;
}

// argv in a process group of its own (as a shell starts a job), stdout and stderr to `log`.
pid_t SpawnJob(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    FILE* f = fopen(log.c_str(), "w");
    dup2(fileno(f), 1);
    dup2(fileno(f), 2);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

// The exit status (128+N for a signal), or -1 when it has not exited within `seconds` (then killed).
int WaitWithin(pid_t pid, int seconds) {
  int st = 0;
  for (int i = 0; i < seconds * 100; ++i) {
    if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(-pid, SIGKILL);
  waitpid(pid, &st, 0);
  return -1;
}

// A command line no other process has: `sleep 3000.<our pid>`, to find the sample's process from outside.
std::string UniqueSleep() { return "3000." + std::to_string(getpid()); }

}  // namespace

// A file, a DNS query and a command line with bytes that are not UTF-8, under --monitor, --report and
// the sinkhole (it answers DNS sent to any address): the run ends normally, the report and every event line are valid JSON, the names are
// there as \xNN (before, the report writer threw: airlock aborted with 134 and wrote no report).
TEST(HostileInput, NamesThatAreNotUtf8KeepTheRunReportAndEvents) {
  if (NftablesMissing()) GTEST_SKIP() << "libnftables1 is not installed";
  std::string dir = MakeTempDir("hostile-utf8");
  const char* script =
      "printf x > \"$(printf '/tmp/dropped-\\377\\376')\"; "
      "/bin/true \"$(printf 'arg-\\300\\257')\"; "
      "python3 -c \"import socket\n"
      "q = b'\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x05bad\\xff\\xfe\\x07example\\x00\\x00\\x01\\x00\\x01'\n"
      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.sendto(q, ('192.0.2.53', 53))\n"
      "print('answer', len(s.recv(512)))\"";
  auto r = RunAirlock({"--net", "sinkhole", "--monitor", dir + "/e.jsonl", "--report", dir + "/r.json"},
                      {"/bin/bash", "-c", script});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("answer"), std::string::npos) << r.out << r.err;
  json report = StrictFile(dir + "/r.json");
  EXPECT_EQ(report.value("reason", ""), "ok") << report.dump();
  EXPECT_FALSE(report.value("interrupted", true));
  EXPECT_NE(report["network"]["domains"].dump().find("bad\\\\xff\\\\xfe.example"), std::string::npos) << report["network"].dump();
  auto events = StrictLines(dir + "/e.jsonl");
  EXPECT_TRUE(AnyEvent(events, "TargetFilename", "/tmp/dropped-\\xff\\xfe")) << ReadFileOrEmpty(dir + "/e.jsonl");
  EXPECT_TRUE(AnyEvent(events, "QueryName", "bad\\xff\\xfe.example")) << ReadFileOrEmpty(dir + "/e.jsonl");
  EXPECT_TRUE(AnyEvent(events, "CommandLine", "/bin/true arg-\\xc0\\xaf")) << ReadFileOrEmpty(dir + "/e.jsonl");
  std::filesystem::remove_all(dir);
}

// `airlock analyze` of a sample whose own name is not UTF-8, which prints such bytes and drops such a
// file: the analysis completes and report.json is valid JSON that keeps the names.
TEST(HostileInput, AnalyzeOfASampleNamedInInvalidUtf8) {
  std::string dir = MakeTempDir("hostile-analyze");
  std::string sample = dir + "/sample-\xff\xfe.sh";
  WriteFile(sample, "#!/bin/sh\nprintf 'out \\377\\n'\nprintf x > \"$(printf '/tmp/drop-\\377')\"\n", 0755);
  auto r = airlock::test::Run({AirlockBin(), "analyze", "--quiet", "--no-static", "--timeout", "20s", "--out", dir + "/out", sample}, "", 180);
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1 || r.exit_code == 3) << r.exit_code << "\n" << r.out << r.err;
  json report = StrictFile(dir + "/out/report.json");
  EXPECT_EQ(report["sample"].value("name", ""), "sample-\\xff\\xfe.sh");
  EXPECT_EQ(report["run"].value("reason", ""), "ok") << report["run"].dump();
  EXPECT_EQ(report["output"].value("stdout", ""), "out \\xff\n");
  EXPECT_NE(report["dropped"].dump().find("/tmp/drop-\\\\xff"), std::string::npos) << report["dropped"].dump();
  EXPECT_FALSE(report.value("interrupted", true));
  EXPECT_FALSE(ReadFileOrEmpty(dir + "/out/report.html").empty());
  std::filesystem::remove_all(dir);
}

// --on-interrupt kill: SIGINT to airlock kills a command that ignores it, at once; the report says
// interrupted. The control (default: forward) shows the same command survives a forwarded SIGINT, so
// the kill is airlock's.
TEST(Interrupt, RunOnInterruptKillEndsTheSandboxAndReportsIt) {
  std::string dir = MakeTempDir("interrupt-run");
  const std::string sleep = UniqueSleep();
  const std::string script = "trap '' INT TERM HUP; echo ready; exec sleep " + sleep;
  for (bool kill_mode : {true, false}) {
    std::string log = dir + (kill_mode ? "/kill.log" : "/forward.log"), report = dir + (kill_mode ? "/kill.json" : "/forward.json");
    std::vector<std::string> argv = {AirlockBin(), "run", "--pool", "off", "--report", report, "--timeout", "120s"};
    if (kill_mode) argv.insert(argv.end(), {"--on-interrupt", "kill"});
    argv.insert(argv.end(), {"--", "/bin/sh", "-c", script});
    pid_t job = SpawnJob(argv, log);
    ASSERT_TRUE(WaitForMarker(log, "ready", 30000)) << ReadFileOrEmpty(log);
    kill(-job, SIGINT);  // the whole group, as a terminal's Ctrl-C
    if (!kill_mode) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      EXPECT_TRUE(WaitForProcessWithArg("sleep " + sleep, 10000)) << "forwarded SIGINT is ignored by the command";
      kill(job, SIGTERM);  // forwarded too, ignored too: end it for good
      kill(job, SIGKILL);
      WaitWithin(job, 30);
      continue;
    }
    EXPECT_EQ(WaitWithin(job, 60), 130) << ReadFileOrEmpty(log);
    EXPECT_FALSE(ProcessWithArgExists("sleep " + sleep)) << "the sandbox outlived the interrupt";
    json j = StrictFile(report);
    EXPECT_TRUE(j.value("interrupted", false)) << j.dump();
    EXPECT_EQ(j.value("interrupt_signal", 0), SIGINT);
    EXPECT_EQ(j.value("reason", ""), "signaled");
    EXPECT_EQ(j.value("status", 0), 130);
    EXPECT_NE(j.value("error", "").find("interrupted by SIGINT"), std::string::npos) << j.dump();
  }
  // The sandbox of the control died with its airlock (SIGKILL: die-with-parent).
  bool gone = false;
  for (int i = 0; i < 500 && !(gone = !ProcessWithArgExists("sleep " + sleep)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone);
  std::filesystem::remove_all(dir);
}

// Ctrl-C (SIGINT to the process group) while `airlock analyze` detonates a sample that ignores
// signals: analyze exits well before the sample's timeout with 130, no sample process is left, and
// report.json exists and says interrupted (as does the run report it embeds).
TEST(Interrupt, AnalyzeCtrlCKillsTheSampleAndStillWritesTheReport) {
  std::string dir = MakeTempDir("interrupt-analyze");
  const std::string sleep = UniqueSleep();
  std::string sample = dir + "/sleeper.sh";
  WriteFile(sample, "#!/bin/sh\ntrap '' INT TERM HUP\necho started > /tmp/marker\nexec sleep " + sleep + "\n", 0755);
  const std::string out = dir + "/out", log = dir + "/analyze.log";
  pid_t job = SpawnJob({AirlockBin(), "analyze", "--no-static", "--timeout", "600s", "--out", out, sample}, log);
  ASSERT_TRUE(WaitForMarker(out + "/work/tmp/marker", "started", 60000)) << ReadFileOrEmpty(log);
  kill(-job, SIGINT);
  EXPECT_EQ(WaitWithin(job, 60), 130) << ReadFileOrEmpty(log);
  bool gone = false;
  for (int i = 0; i < 500 && !(gone = !ProcessWithArgExists("sleep " + sleep)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "a sample process outlived airlock analyze";
  json report = StrictFile(out + "/report.json");
  EXPECT_TRUE(report.value("interrupted", false)) << report.dump();
  EXPECT_EQ(report.value("interrupt_signal", 0), SIGINT);
  EXPECT_TRUE(report["run"].value("interrupted", false)) << report["run"].dump();
  EXPECT_EQ(report["run"].value("reason", ""), "signaled");
  EXPECT_NE(ReadFileOrEmpty(log).find("interrupted"), std::string::npos) << ReadFileOrEmpty(log);
  EXPECT_FALSE(ReadFileOrEmpty(out + "/report.html").empty());
  std::filesystem::remove_all(dir);
}

// SIGKILL to `airlock analyze` alone (the milter does this at its message budget): the `airlock run`
// it started dies with it (PR_SET_PDEATHSIG) and the sandbox with that, so no sample process is left.
TEST(Interrupt, AnalyzeKilledTakesItsSandboxAlong) {
  std::string dir = MakeTempDir("interrupt-analyze-kill");
  const std::string sleep = UniqueSleep() + "1";
  std::string sample = dir + "/sleeper.sh";
  WriteFile(sample, "#!/bin/sh\ntrap '' INT TERM HUP\necho started > /tmp/marker\nexec sleep " + sleep + "\n", 0755);
  const std::string out = dir + "/out";
  pid_t job = SpawnJob({AirlockBin(), "analyze", "--no-static", "--timeout", "600s", "--out", out, sample}, dir + "/analyze.log");
  ASSERT_TRUE(WaitForMarker(out + "/work/tmp/marker", "started", 60000)) << ReadFileOrEmpty(dir + "/analyze.log");
  // (The marker is written just before the exec of sleep.)
  if (!WaitForProcessWithArg("sleep " + sleep, 10000)) {
    kill(job, SIGKILL);
    FAIL() << "the sample's sleep never started: " << ReadFileOrEmpty(dir + "/analyze.log");
  }
  kill(job, SIGKILL);
  EXPECT_EQ(WaitWithin(job, 30), 128 + SIGKILL);
  bool gone = false;
  for (int i = 0; i < 1000 && !(gone = !ProcessWithArgExists("sleep " + sleep)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "the sample outlived a killed airlock analyze";
  if (!gone) ProcessWithArgExists("sleep " + sleep, /*kill_it=*/true);
  std::filesystem::remove_all(dir);
}
