// Warm runs for the escape tier: a real `airlock pool` serving one profile (the default plus the test
// helpers at /helpers, plus `extra` TOML), and runs through it. Header-only; used by the tests that
// must hold warm as well as cold (escape_quota_test.cc, escape_hostinfo_test.cc).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "test_env.h"

namespace airlock::escape {

class WarmPool {
 public:
  // Starts `airlock pool --size size` on a private socket; Ready() tells whether it came up.
  explicit WarmPool(const std::string& extra_toml = "", int size = 2) : size_(size) {
    dir_ = test::MakeTempDir("escape-pool");
    ::chmod(dir_.c_str(), 0700);
    profile_ = dir_ + "/warm.toml";
    test::WriteFile(profile_, "include = [\"default\"]\n" + extra_toml + "\n[[mount]]\ntype = \"ro-bind\"\nsrc = \"" +
                                  test::HelperDir() + "\"\ndst = \"/helpers\"\n");
    socket_ = dir_ + "/pool.sock";
    log_ = dir_ + "/pool.log";
    pid_ = fork();
    if (pid_ == 0) {
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 1);
      dup2(fd, 2);
      std::string bin = test::AirlockBin(), size_s = std::to_string(size);
      execl(bin.c_str(), bin.c_str(), "pool", "-v", "--profile", profile_.c_str(), "--socket", socket_.c_str(), "--size",
            size_s.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 1000 && !Ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~WarmPool() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  WarmPool(const WarmPool&) = delete;
  WarmPool& operator=(const WarmPool&) = delete;

  bool Ready() const {
    std::string log = test::ReadFileOrEmpty(log_);
    int n = 0;
    for (size_t p = log.find("ready after"); p != std::string::npos; p = log.find("ready after", p + 1)) ++n;
    return n >= size_;
  }
  std::string Log() const { return test::ReadFileOrEmpty(log_); }
  const std::string& profile() const { return profile_; }
  const std::string& socket() const { return socket_; }

  // argv of `airlock run` through this pool (it must be served warm) for /helpers/<helper> <probe> <params>.
  std::vector<std::string> RunArgv(const std::string& helper, const std::string& probe,
                                   const std::vector<std::string>& params = {}, const std::vector<std::string>& opts = {}) const {
    std::vector<std::string> argv = {test::AirlockBin(), "run", "--profile", profile_, "--pool", "required"};
    argv.insert(argv.end(), opts.begin(), opts.end());
    argv.insert(argv.end(), {"--", "/helpers/" + helper, probe});
    argv.insert(argv.end(), params.begin(), params.end());
    return argv;
  }
  test::RunResult Run(const std::string& helper, const std::string& probe, const std::vector<std::string>& params = {},
                      const std::vector<std::string>& opts = {}) const {
    ::setenv("AIRLOCK_POOL_SOCKET", socket_.c_str(), 1);
    test::RunResult r = test::RunWarmRetryingDecline(RunArgv(helper, probe, params, opts));
    ::unsetenv("AIRLOCK_POOL_SOCKET");
    return r;
  }

 private:
  int size_;
  std::string dir_, profile_, socket_, log_;
  pid_t pid_ = -1;
};

}  // namespace airlock::escape
