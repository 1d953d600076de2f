// The `airlock run` report against its published schema: real reports, written by the real binary for
// a normal exit, a timeout, a command not found and a monitored run, are (1) valid under
// docs/schema/run-report.schema.json (python3-jsonschema) and (2) read by the typed reader
// (runapi/run_report.h). A validator that cannot run fails the test; it never skips.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "process/spawn.h"
#include "runapi/run_report.h"
#include "test_env.h"

namespace {

using airlock::runapi::RunReport;


class RunReportSchema : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = airlock::test::MakeTempDir("run-report-schema"); }

  // Runs `airlock run --report DIR/NAME.json OPTIONS -- COMMAND` and returns the report's path.
  std::string Report(const std::string& name, std::vector<std::string> options, std::vector<std::string> command) {
    std::string report = dir_ + "/" + name + ".json";
    std::vector<std::string> argv = {airlock::test::AirlockBin(), "run", "--report", report};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back("--");
    argv.insert(argv.end(), command.begin(), command.end());
    auto r = airlock::process::SpawnAndCapture(argv);
    EXPECT_TRUE(r.has_value());
    return report;
  }

  // Schema validation of `paths` (test_env.h): its exit status and stderr.
  std::pair<int, std::string> Validate(const std::vector<std::string>& paths) {
    auto r = airlock::test::ValidateJsonSchema("run-report.schema.json", paths);
    return {r.exit_code, r.err};
  }

  RunReport Read(const std::string& path) {
    auto r = airlock::runapi::ReadRunReportFile(path);
    EXPECT_TRUE(r.has_value()) << path << ": " << (r ? "" : r.error().What()) << "\n"
                               << airlock::test::ReadFileOrEmpty(path);
    return r ? *r : RunReport{};
  }

  std::string dir_;
};

TEST_F(RunReportSchema, RealReportsAreValidAndTyped) {
  std::string ok = Report("exit", {}, {"/bin/sh", "-c", "exit 3"});
  std::string timeout = Report("timeout", {"--timeout", "1s"}, {"/bin/sleep", "30"});
  std::string not_found = Report("not-found", {}, {"/no/such/command"});
  std::string monitored = Report("monitored", {"--monitor", dir_ + "/events.jsonl"}, {"/bin/true"});
  auto [status, err] = Validate({ok, timeout, not_found, monitored});
  EXPECT_EQ(status, 0) << err;

  RunReport a = Read(ok);
  EXPECT_EQ(a.schema_version, airlock::runapi::kRunReportSchemaVersion);
  EXPECT_EQ(a.reason, "ok");
  EXPECT_EQ(a.status, 3);
  EXPECT_EQ(a.child_exit_status, 3);
  EXPECT_FALSE(a.layers.empty());
  EXPECT_FALSE(a.monitor.has_value());

  RunReport t = Read(timeout);
  EXPECT_EQ(t.reason, "timeout");
  EXPECT_EQ(t.status, 124);

  RunReport n = Read(not_found);
  EXPECT_EQ(n.status, 127);

  RunReport m = Read(monitored);
  EXPECT_EQ(m.reason, "ok");
  ASSERT_TRUE(m.monitor.has_value());
  EXPECT_GE(m.monitor->events, 1u);

  // Bounded by default: the bounds and what enforced each (docs/LIMITS.md).
  ASSERT_TRUE(a.bounds.has_value());
  EXPECT_EQ(a.bounds->pids.limit, 1024);
  EXPECT_NE(a.bounds->pids.enforced_by, airlock::runapi::kByNone);
  EXPECT_NE(a.bounds->memory.enforced_by, airlock::runapi::kByNone);
  EXPECT_FALSE(a.bounds->cpu.has_value());
  EXPECT_GE(a.bounds->tmpfs.size(), 5u);
}

// Limits lifted and a CPU share (cgroup only: run as root here, refused without one) in the schema.
TEST_F(RunReportSchema, UnlimitedAndCpuBoundsAreValid) {
  std::string lifted = Report("lifted", {"--pids", "unlimited", "--memory", "unlimited"}, {"/bin/true"});
  std::vector<std::string> paths = {lifted};
  if (airlock::test::IsRoot()) paths.push_back(Report("cpu", {"--cpu", "0.5"}, {"/bin/true"}));
  auto [status, err] = Validate(paths);
  EXPECT_EQ(status, 0) << err;
  RunReport l = Read(lifted);
  ASSERT_TRUE(l.bounds.has_value());
  EXPECT_FALSE(l.bounds->pids.limit.has_value());
  EXPECT_EQ(l.bounds->memory.enforced_by, airlock::runapi::kByNone);
  if (paths.size() > 1) {
    RunReport c = Read(paths[1]);
    ASSERT_TRUE(c.bounds && c.bounds->cpu) << airlock::test::ReadFileOrEmpty(paths[1]);
    EXPECT_EQ(c.bounds->cpu->limit, 0.5);
  }
}

// --net user adds "network" and "helpers" (the user-mode stack and the netns setup helper).
TEST_F(RunReportSchema, NetworkReportListsTheHelpers) {
  if (std::string why = airlock::test::UserNetSkipReason(); !why.empty()) GTEST_SKIP() << why;
  std::string net = Report("net", {"--net", "user"}, {"/bin/true"});
  std::string allow = Report("allow", {"--net", "user", "--net-allow", "localhost:9"}, {"/bin/true"});
  auto [status, err] = Validate({net, allow});
  EXPECT_EQ(status, 0) << err;
  for (const auto& path : {net, allow}) {
    RunReport r = Read(path);
    ASSERT_EQ(r.helpers.size(), 2u) << path;
    EXPECT_TRUE(r.helpers[0].name == "pasta" || r.helpers[0].name == "slirp4netns") << r.helpers[0].name;
    EXPECT_GT(r.helpers[0].uid, 0);
    EXPECT_TRUE(r.helpers[0].seccomp);
    EXPECT_TRUE(r.helpers[0].no_new_privs);
    EXPECT_EQ(r.helpers[1].name, "netns-setup");
    EXPECT_FALSE(r.network.is_null());
  }
}

// A command name that is not UTF-8 (its bytes reach the report's error line as \xNN) and a run killed
// by SIGINT with --on-interrupt kill: both reports are valid under the schema and read by the reader.
TEST_F(RunReportSchema, InterruptedAndNonUtf8ReportsAreValid) {
  std::string bad_name = Report("not-utf8", {"--pool", "off"}, {"/no/such/\xff\xfe"});
  std::string interrupted = dir_ + "/interrupted.json", log = dir_ + "/interrupted.log";
  airlock::UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  ASSERT_TRUE(log_fd);
  auto pid = airlock::process::ForkExec({airlock::test::AirlockBin(), "run", "--pool", "off", "--on-interrupt", "kill", "--report",
                                         interrupted, "--", "/bin/sh", "-c", "trap '' INT; echo ready; exec sleep 600"},
                                        airlock::process::ChildStdio{-1, log_fd.get(), -1});
  ASSERT_TRUE(pid.has_value());
  ASSERT_TRUE(airlock::test::WaitForMarker(log, "ready", 30000));
  ::kill(*pid, SIGINT);
  EXPECT_EQ(airlock::process::WaitExitCode(*pid), 130);
  auto [status, err] = Validate({bad_name, interrupted});
  EXPECT_EQ(status, 0) << err;
  RunReport n = Read(bad_name);
  EXPECT_EQ(n.status, 127);
  EXPECT_NE(n.error.find("/no/such/\\xff\\xfe"), std::string::npos) << n.error;
  EXPECT_FALSE(n.interrupted);
  RunReport i = Read(interrupted);
  EXPECT_TRUE(i.interrupted);
  EXPECT_EQ(i.interrupt_signal, SIGINT);
  EXPECT_EQ(i.reason, "signaled");
}

// The check can fail: a report with a field of the wrong type or an unknown field is refused.
TEST_F(RunReportSchema, ValidatorRejectsABrokenReport) {
  std::string ok = Report("exit", {}, {"/bin/true"});
  std::string text = airlock::test::ReadFileOrEmpty(ok);
  auto j = nlohmann::json::parse(text);
  j["status"] = "zero";
  std::string wrong_type = dir_ + "/wrong-type.json";
  airlock::test::WriteFile(wrong_type, j.dump());
  j = nlohmann::json::parse(text);
  j["surprise"] = 1;
  std::string unknown = dir_ + "/unknown.json";
  airlock::test::WriteFile(unknown, j.dump());
  j = nlohmann::json::parse(text);
  j["bounds"]["pids"]["enforced_by"] = "good intentions";
  std::string enforcer = dir_ + "/enforcer.json";
  airlock::test::WriteFile(enforcer, j.dump());
  for (const auto& bad : {wrong_type, unknown, enforcer}) {
    auto [status, err] = Validate({bad});
    EXPECT_EQ(status, 1) << bad << ": " << err;
  }
  EXPECT_FALSE(airlock::runapi::ReadRunReportFile(wrong_type).has_value());
  EXPECT_FALSE(airlock::runapi::ReadRunReportFile(enforcer).has_value());
}

}  // namespace
