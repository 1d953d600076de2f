// The fixture of the tests that work on a running sandbox (ps, stop, exec): a temporary directory, a
// name and a marker unique to this test process, and one `airlock run --name` in the background whose
// command line carries the marker. TearDown kills and reaps the run, then anything still carrying the
// marker (a sandbox that outlived its airlock would be a finding of the test, not left behind).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_env.h"

namespace airlock::test {

class NamedRunTest : public ::testing::Test {
 protected:
  explicit NamedRunTest(std::string tag) : tag_(std::move(tag)) {}
  void SetUp() override {
    dir_ = MakeTempDir(tag_);
    name_ = tag_ + "-" + std::to_string(::getpid());
    marker_ = "airlock-" + tag_ + "-test-" + std::to_string(::getpid());
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ProcessWithArgExists(marker_, /*kill_it=*/true);
    std::filesystem::remove_all(dir_);
  }
  // `airlock run --name NAME --report DIR/report.json OPTS -- /bin/sh -c 'SCRIPT # MARKER'` in the
  // background, its output on DIR/run.log; returns once the script printed "ready". An empty NAME:
  // no --name (the run gets an id of its own).
  void StartNamed(const std::string& name, const std::vector<std::string>& opts, const std::string& script) {
    log_ = dir_ + "/run.log";
    std::vector<std::string> argv = {AirlockBin(), "run", "--report", dir_ + "/report.json"};
    if (!name.empty()) argv.insert(argv.begin() + 2, {"--name", name});
    argv.insert(argv.end(), opts.begin(), opts.end());
    argv.insert(argv.end(), {"--", "/bin/sh", "-c", script + " # " + marker_});
    pid_ = SpawnLogged(argv, log_);
    ASSERT_TRUE(WaitForMarker(log_, "ready")) << ReadFileOrEmpty(log_);
  }
  // Reaps the run: its exit status (128+N for signal N).
  int WaitRun() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::string tag_, dir_, name_, marker_, log_;
  pid_t pid_ = -1;
};

}  // namespace airlock::test
