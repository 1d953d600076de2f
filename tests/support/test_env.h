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

// Run() of an `airlock run --pool required ...` argv: runs in a row can outpace a pool's replacements
// (each sandbox serves one run), so a decline for want of a ready sandbox (123, "no warm sandbox
// ready") is tried again, every 20 ms for at most 10 s. Tests of declines call Run() themselves.
RunResult RunWarmRetryingDecline(const std::vector<std::string>& argv, const std::string& input = "");

// `airlock run <opts> -- <cmd...>`
RunResult RunAirlock(const std::vector<std::string>& opts, const std::vector<std::string>& cmd, int timeout_seconds = 60);

// Validates each JSON document file of `paths` against docs/schema/<schema> with
// tests/schema/validate_json_schema.py (python3-jsonschema; sibling schemas resolved locally): exit 0
// when every one is valid, else the errors in `err`. A missing validator is exit 2: never a pass.
RunResult ValidateJsonSchema(const std::string& schema, const std::vector<std::string>& paths);

bool IsRoot();
// Why `--net user` cannot run here ("" when it can): no slirp4netns/pasta, or a /dev/net/tun that
// the unprivileged network helper (uid 65534 for root too) cannot open. In the latter case it first
// checks that airlock's own error names the fix, then returns the reason to skip with.
std::string UserNetSkipReason();
// The first non-loopback IPv4 address of this host ("" when there is none): what `--net user` can
// reach of the host when an allow-list entry names it (the helpers disable the host's loopback).
std::string HostAddress();
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
// A loopback TCP port free at this moment (e.g. the route ports of a NATS cluster, which every node
// must know before it starts), -1 if none could be had.
int FreeLoopbackPort();

// Processes on the host (every pid /proc shows) whose command line, arguments joined by spaces,
// holds `needle`. Unless the needle holds a '/', command lines naming airlock are not counted: the
// `airlock run ... -- sh -c '... sleep N'` that started a sandboxed command would always match.
// A process in the middle of an execve can read as an empty command line for a moment, so a single
// look is only a snapshot: tests wait with WaitForProcessWithArg. With `kill_it`, every match gets
// SIGKILL (cleanup after a failed check).
bool ProcessWithArgExists(const std::string& needle, bool kill_it = false);
// Polls ProcessWithArgExists every 10 ms for at most timeout_ms; true once one is seen.
bool WaitForProcessWithArg(const std::string& needle, int timeout_ms = 10000);
// The pid of one match (0 when none).
pid_t ProcessWithArg(const std::string& needle);
// "pid: command line" of each match, one per line (for the message of a failed check).
std::string DescribeProcessesWithArg(const std::string& needle);

}  // namespace airlock::test
