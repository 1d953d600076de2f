#include "scan/confined_scan.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/file_read.h"
#include "core/helper_path.h"
#include "core/unique_fd.h"
#include "process/spawn.h"
#include "runapi/run_request.h"
#include "scan/file_util.h"
#include "scan/input_broker.h"
#include "scan/report_json.h"
#include "scan/yara_rules.h"

namespace airlock::scan {
namespace {

constexpr const char* kScannerInside = "/opt/airlock-scan";
constexpr const char* kRulesInside = "/opt/airlock-rules";
constexpr const char* kNavInside = "/nav";
constexpr const char* kNoSandboxHint = "--no-sandbox parses in this process instead (a weakening the report states)";

int Fail(const std::string& what) {
  std::fprintf(stderr, "airlock scan: %s\n", what.c_str());
  return 2;
}

// The compiled rules (rules.yarc) and a copy of the block-list (blocklist.sha256) in `dir`; the
// inner scanner's arguments that name them.
Result<std::vector<std::string>> HandRules(const ScanOptions& options, const std::string& dir) {
  std::vector<std::string> args = {"--no-default-rules", "--no-cache"};
  auto rules = LoadScanRules(options);
  if (!rules) return std::unexpected(rules.error());
  if (*rules) {
    if (Status s = (*rules)->Save(dir + "/rules.yarc"); !s) return std::unexpected(s.error());
    if (!HandToSandbox(dir + "/rules.yarc")) return ErrnoError("hand the compiled rules to the sandbox");
    args.insert(args.end(), {"--compiled-rules", std::string(kRulesInside) + "/rules.yarc"});
  }
  if (const std::string list = ScanBlocklistPath(options); !list.empty()) {
    auto text = ReadWholeFile(list, 256u << 20);
    if (!text) return std::unexpected(std::move(text.error()).WithContext("block-list"));
    if (!WriteNewFile(dir + "/blocklist.sha256", *text)) return ErrnoError("copy the block-list for the sandbox");
    if (!HandToSandbox(dir + "/blocklist.sha256")) return ErrnoError("hand the block-list to the sandbox");
    args.insert(args.end(), {"--blocklist", std::string(kRulesInside) + "/blocklist.sha256"});
  }
  if (!HandToSandbox(dir)) return ErrnoError("hand " + dir + " to the sandbox");
  return args;
}

// The inner scanner's limits, output and job options: the caller's, unchanged.
std::vector<std::string> LimitArgs(const ScanOptions& o, const ConfinedScanFlags& flags) {
  const ScanLimits& l = o.limits;
  std::vector<std::string> args = {"-j", std::to_string(o.jobs), "--max-depth", std::to_string(l.max_depth),
                                   "--max-total-mib", std::to_string(l.max_total_bytes >> 20),
                                   "--max-object-mib", std::to_string(l.max_object_bytes >> 20),
                                   "--max-entries", std::to_string(l.max_entries), "--max-ratio", fmt::format("{}", l.max_ratio),
                                   "--timeout", std::to_string(l.max_seconds)};
  if (flags.json) args.push_back("--json");
  if (flags.quiet || !o.progress) args.push_back("-q");
  if (!o.extract_dir.empty()) args.insert(args.end(), {"--extract", "/out"});
  return args;
}

// 2 GiB, or what -j inputs held at once with their extracted objects may need.
std::string MemoryFor(const ScanOptions& o) {
  const uint64_t mib = uint64_t(std::max(o.jobs, 1)) * ((o.limits.max_object_bytes >> 20) * 2 + (o.limits.max_total_bytes >> 20)) + 512;
  return std::to_string(std::clamp<uint64_t>(mib, 2048, 65536)) + "m";
}

// `airlock run ... -- airlock-scan --in-sandbox --broker-fd N ...`
Result<std::vector<std::string>> SandboxArgv(const ScanOptions& o, const ConfinedScanFlags& flags, const std::string& handed,
                                             const std::string& nav_dir, int broker_fd, std::vector<std::string> rule_args, size_t inputs) {
  const std::string airlock = FindHelper("airlock");
  if (airlock.empty()) return MakeError("the airlock binary (the scan's sandbox) was not found beside airlock-scan or in its libexec directory");
  const std::string self = SelfExe();
  if (self.empty()) return MakeError("cannot find airlock-scan's own path (/proc/self/exe)");
  const std::string dir = self.substr(0, self.rfind('/')), name = self.substr(self.rfind('/') + 1);
  runapi::RunRequest req(airlock);
  // A wall-time bound over the per-input one (which the engine keeps itself): every input at its limit.
  const uint64_t rounds = (inputs + size_t(std::max(o.jobs, 1)) - 1) / size_t(std::max(o.jobs, 1));
  const std::string timeout = std::to_string(std::max<uint64_t>(rounds, 1) * uint64_t(o.limits.max_seconds) + 60) + "s";
  req.Profile("default").RoBind(dir, kScannerInside).RoBind(handed, kRulesInside).Memory(MemoryFor(o)).Timeout(timeout);
  req.PassFd(broker_fd).KillOnInterrupt();
  if (!o.extract_dir.empty()) req.Bind(o.extract_dir, "/out");
  if (!nav_dir.empty()) req.Bind(nav_dir, kNavInside);
  // A sanitizer build's settings reach the sanitized scanner (the profile's env_keep drops them):
  // without them LeakSanitizer, which cannot ptrace in there, would fail every scan at exit.
  for (const char* var : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* v = std::getenv(var); v != nullptr) req.SetEnv(std::string(var) + "=" + v);
  }
  std::vector<std::string> command = {std::string(kScannerInside) + "/" + name, "--in-sandbox", "--broker-fd", std::to_string(broker_fd)};
  command.insert(command.end(), rule_args.begin(), rule_args.end());
  for (auto& a : LimitArgs(o, flags)) command.push_back(std::move(a));
  if (!nav_dir.empty()) command.insert(command.end(), {"--navigator", std::string(kNavInside) + "/navigator.json"});
  return req.Command(std::move(command)).Argv();
}

// What `airlock run` exiting with `status` (not a scanner status) means for the user.
std::string SandboxFailure(int status) {
  const char* why = status == 137   ? " (killed: its memory limit, or a signal)"
                    : status == 124 ? " (its wall-time bound: every input at --timeout)"
                    : status == 123 ? " (a kernel feature it needs is missing: `airlock check`)"
                                    : "";
  return fmt::format("the sandbox the scan runs in failed: airlock run exited {}{}; nothing was judged. Fix what it said above, or {}",
                     status, why, kNoSandboxHint);
}

}  // namespace

int RunConfinedScan(const ScanOptions& options, const ConfinedScanFlags& flags) {
  // Made here, private, as Extractor::Open makes it: bound read-write at /out.
  if (!options.extract_dir.empty()) {
    if (::mkdir(options.extract_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Fail(fmt::format("mkdir {}: {}", options.extract_dir, strerror(errno)));
    }
    UniqueFd dir(::open(options.extract_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) return Fail(fmt::format("open extract directory {}: {}", options.extract_dir, strerror(errno)));
  }
  ScanTempDir handed("airlock-scan");  // what the sandbox is handed: its rules
  if (handed.path().empty()) return Fail("cannot create a private directory for the sandbox's rules");
  auto rule_args = HandRules(options, handed.path());
  if (!rule_args) return Fail(rule_args.error().What());
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return Fail("socketpair: " + std::string(strerror(errno)));
  UniqueFd host_end(pair[0]), inner_end(pair[1]);
  UniqueFd passed(::fcntl(inner_end.get(), F_DUPFD, 3));  // without O_CLOEXEC: airlock run keeps it (--pass-fd)
  inner_end.reset();
  if (!passed) return Fail("dup: " + std::string(strerror(errno)));
  const std::vector<std::string> inputs = ExpandInputs(options.inputs);
  ScanTempDir nav("airlock-scan-nav");  // --navigator: the sandbox writes the layer here
  if (!flags.navigator.empty() && nav.path().empty()) return Fail("cannot create a private directory for the Navigator layer");
  auto argv = SandboxArgv(options, flags, handed.path(), flags.navigator.empty() ? "" : nav.path(), passed.get(), std::move(*rule_args),
                          inputs.size());
  if (!argv) return Fail(argv.error().What() + "; " + kNoSandboxHint);
  auto pid = process::ForkExec(*argv, {-1, process::kInherit, process::kInherit}, SIGKILL);
  passed.reset();
  if (!pid) return Fail(pid.error().What());
  const Status served = ServeInputs(host_end.get(), inputs);
  if (!served) ::kill(*pid, SIGTERM);  // --on-interrupt kill: the sandbox ends at once
  host_end.reset();
  const int status = process::WaitExitCode(*pid);
  if (!served) return Fail(served.error().What() + ": the scan was stopped, nothing was judged");
  if (status < 0 || status > 3) return Fail(SandboxFailure(status));
  if (!flags.navigator.empty()) {
    // The sandbox's file: bounded, and it must be JSON (a layer) before it goes to the user's path.
    auto text = ReadRegularFileBounded(nav.path() + "/navigator.json", 64 << 20, "Navigator layer larger than 64 MiB");
    if (!text || nlohmann::json::parse(*text, nullptr, false).is_discarded()) return Fail("the sandboxed scan wrote no Navigator layer");
    if (auto w = WriteFileReplacing(flags.navigator, *text); !w) return Fail(w.error().What());
  }
  return status;
}

}  // namespace airlock::scan
