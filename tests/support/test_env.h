// Shared helpers for tests: where the airlock binary and helper programs are, running a command and
// capturing its output, skipping loudly when a kernel feature is missing.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace airlock::test {

// Path of the airlock binary under test (env AIRLOCK_BIN overrides the build-time path).
std::string AirlockBin();
// Directory of the helper programs (env AIRLOCK_HELPER_DIR overrides).
std::string HelperDir();
std::string Helper(const std::string& name);
std::string SourceDir();

struct RunResult {
  int exit_code = -1;  // exit status, or 128+signal
  std::string out;
  std::string err;
};

// Runs argv (no shell), capturing stdout and stderr, with an optional stdin text and a timeout.
RunResult Run(const std::vector<std::string>& argv, const std::string& input = "", int timeout_seconds = 60);

// `airlock run <opts> -- <cmd...>`
RunResult RunAirlock(const std::vector<std::string>& opts, const std::vector<std::string>& cmd, int timeout_seconds = 60);

bool IsRoot();
// Why `--net user` cannot run here ("" when it can): no slirp4netns/pasta, or a /dev/net/tun that
// the unprivileged network helper (uid 65534 for root too) cannot open. In the latter case it first
// checks that airlock's own error names the fix, then returns the reason to skip with.
std::string UserNetSkipReason();
// A fresh temporary directory (removed by the OS tmp cleaner; tests remove what they can).
std::string MakeTempDir(const std::string& tag);
std::string ReadFileOrEmpty(const std::string& path);
void WriteFile(const std::string& path, const std::string& content, int mode = 0644);
// Waits until the file at `path` contains `marker` (a ready line a sandboxed program wrote, e.g.
// `sh -c 'echo ready; exec sleep 30'` with its stdout on that file), polling every 10 ms for at most
// timeout_ms. Tests signal a program after this instead of after a fixed sleep. True when seen.
bool WaitForMarker(const std::string& path, const std::string& marker, int timeout_ms = 10000);
// Starts argv (no shell) in the background with stdin from /dev/null and stdout and stderr on the
// file `log` (created 0644): a long-lived program (`airlock pool`) the test stops with a signal and
// reaps with waitpid. Returns its pid.
pid_t SpawnLogged(const std::vector<std::string>& argv, const std::string& log);

}  // namespace airlock::test
