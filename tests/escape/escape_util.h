// Shared pieces of the escape tier: running an attacker helper (tests/helpers/escape_*.c) inside the
// DEFAULT profile, parsing its "PROBE <name> BLOCKED|ESCAPED <detail>" lines, and host-side fixtures
// (a secret file, a sleeping host process). Header-only; every test file of the tier includes it.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "test_env.h"

namespace airlock::escape {

using test::RunResult;

struct ProbeResult {
  std::string status;  // "BLOCKED" or "ESCAPED" ("" when the probe printed nothing)
  std::string detail;
};

// Parses every "PROBE name STATUS detail" line of a helper's output.
inline std::map<std::string, ProbeResult> ParseProbes(const std::string& out) {
  std::map<std::string, ProbeResult> m;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string tag, name, status;
    if (!(f >> tag >> name >> status) || tag != "PROBE") continue;
    std::string detail;
    std::getline(f, detail);
    if (!detail.empty() && detail[0] == ' ') detail.erase(0, 1);
    m[name] = {status, detail};
  }
  return m;
}

// `airlock run [opts] --ro-bind <helpers> /helpers -- /helpers/<helper> <probe> <params...>` in the
// default profile.
inline RunResult RunInSandbox(const std::string& helper, const std::string& probe,
                              const std::vector<std::string>& params = {}, std::vector<std::string> opts = {}) {
  opts.insert(opts.begin(), {"--ro-bind", test::HelperDir(), "/helpers"});
  std::vector<std::string> cmd = {"/helpers/" + helper, probe};
  cmd.insert(cmd.end(), params.begin(), params.end());
  return test::RunAirlock(opts, cmd, 120);
}

// The same helper directly on the host: the control that shows a probe CAN detect an escape.
inline RunResult RunOnHost(const std::string& helper, const std::string& probe,
                           const std::vector<std::string>& params = {}) {
  std::vector<std::string> argv = {test::Helper(helper), probe};
  argv.insert(argv.end(), params.begin(), params.end());
  return test::Run(argv, "", 120);
}

inline ProbeResult Find(const RunResult& r, const std::string& probe) {
  auto m = ParseProbes(r.out);
  auto it = m.find(probe);
  return it == m.end() ? ProbeResult{} : it->second;
}

// Asserts the probe ran and reported BLOCKED; prints what it saw otherwise.
#define EXPECT_PROBE_BLOCKED(run, probe)                                                                 \
  do {                                                                                                   \
    const auto& r_ = (run);                                                                              \
    auto p_ = ::airlock::escape::Find(r_, probe);                                                        \
    EXPECT_EQ(p_.status, "BLOCKED") << "probe " << (probe) << ": " << p_.detail << "\nexit " << r_.exit_code \
                                    << "\nstdout: " << r_.out << "\nstderr: " << r_.err;                 \
  } while (0)

#define EXPECT_PROBE_ESCAPED(run, probe)                                                                 \
  do {                                                                                                   \
    const auto& r_ = (run);                                                                              \
    auto p_ = ::airlock::escape::Find(r_, probe);                                                        \
    EXPECT_EQ(p_.status, "ESCAPED") << "control for " << (probe) << ": " << p_.detail << "\nstdout: " << r_.out \
                                    << "\nstderr: " << r_.err;                                           \
  } while (0)

// A secret file on the host, in a fresh world-readable directory, readable by the sandbox's outside
// uid (65534) too: if a probe cannot read it, isolation stopped it, not file permissions.
class HostSecret {
 public:
  HostSecret() : dir_(test::MakeTempDir("escape-secret")), path_(dir_ + "/" + name()) {
    chmod(dir_.c_str(), 0755);
    test::WriteFile(path_, "airlock-escape-secret-" + std::to_string(getpid()) + "\n", 0644);
  }
  ~HostSecret() {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  HostSecret(const HostSecret&) = delete;
  HostSecret& operator=(const HostSecret&) = delete;
  static std::string name() { return "escape-secret.txt"; }
  const std::string& dir() const { return dir_; }
  const std::string& path() const { return path_; }
  std::vector<std::string> Params() const { return {"secret=" + path_, "secretname=" + name()}; }

 private:
  std::string dir_;
  std::string path_;
};

// A `sleep` process on the host that probes try to ptrace and kill; killed and reaped at the end.
class HostSleeper {
 public:
  HostSleeper() {
    pid_ = fork();
    if (pid_ == 0) {
      execl("/bin/sleep", "sleep", "300", static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~HostSleeper() {
    if (pid_ > 0 && !reaped_) {  // never signal a pid that was already reaped (it may be reused)
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  HostSleeper(const HostSleeper&) = delete;
  HostSleeper& operator=(const HostSleeper&) = delete;
  pid_t pid() const { return pid_; }
  // Alive and not a zombie (a killed child stays a zombie until reaped).
  bool Alive() const {
    if (reaped_) return false;
    int st = 0;
    pid_t w = waitpid(pid_, &st, WNOHANG);
    if (w == pid_) reaped_ = true;
    if (w != 0) return false;
    std::string stat = test::ReadFileOrEmpty("/proc/" + std::to_string(pid_) + "/stat");
    auto p = stat.rfind(')');
    return p != std::string::npos && p + 2 < stat.size() && stat[p + 2] != 'Z';
  }
  // True once the process has died (a signal takes a moment to land); gives up after max_ms.
  bool WaitDead(int max_ms) const {
    for (int waited = 0; waited < max_ms; waited += 10) {
      if (!Alive()) return true;
      usleep(10000);
    }
    return !Alive();
  }

 private:
  pid_t pid_ = -1;
  mutable bool reaped_ = false;
};

}  // namespace airlock::escape
