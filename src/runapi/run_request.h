// A typed builder for one `airlock run` invocation, the argv side of the `airlock run` contract
// (run_report.h is the report side). Consumers (analyze, milter, scan) describe what they want and
// get the argv vector; they never spell option names.
//
//   auto argv = RunRequest(airlock).Profile("analysis").RoBind(host, "/sample").Timeout("60s")
//                   .Report(path).Command({"/sample/x"}).Argv();
//
// Contract:
//  - Options appear in argv in the order they were added (after "<airlock> run"), then "--" and the
//    command, so a consumer's argv is stable and readable in logs.
//  - Argv() rejects what `airlock run` would reject or what is surely a mistake, with the first problem:
//    no command; a single-valued option given twice (--profile, --timeout, --memory, --chdir, --net,
//    --report, --monitor, --on-interrupt); a sandbox path that is not absolute;
//    SETENV/RLIMIT without NAME=VALUE; a timeout or memory size that is not a number with a unit;
//    an unknown --net mode; an empty host path.
//  - --monitor-reads cannot be asked without --monitor (one call, Monitor(file, reads)).
//  - The builder does not touch the file system; paths are passed as given.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"

namespace airlock::runapi {

class RunRequest {
 public:
  // `airlock` is the path of the front end (see core/helper_path.h).
  explicit RunRequest(std::string airlock);

  RunRequest& Profile(const std::string& name);                               // --profile
  RunRequest& RoBind(const std::string& host, const std::string& inside);     // --ro-bind
  RunRequest& Bind(const std::string& host, const std::string& inside);       // --bind (read-write)
  RunRequest& DevBind(const std::string& host, const std::string& inside);    // --dev-bind (a device node)
  RunRequest& Tmpfs(const std::string& inside, const std::string& size);     // --tmpfs DST:SIZE
  RunRequest& SetEnv(const std::string& key_value);                           // --setenv KEY=VALUE
  RunRequest& Chdir(const std::string& inside);                               // --chdir
  RunRequest& Timeout(const std::string& duration);                           // --timeout 30s|1500ms|2m|30
  RunRequest& Memory(const std::string& size);                                // --memory 512m|2g
  RunRequest& Rlimit(const std::string& name_value);                          // --rlimit fsize=N
  RunRequest& Net(const std::string& mode);                                   // --net none|host|user|sinkhole
  RunRequest& Listen(int port);                                               // --listen PORT
  RunRequest& NetAllow(const std::string& host_port);                         // --net-allow HOST:PORT
  RunRequest& NetPcap(const std::string& pcap_file);                         // --net-pcap (with --net sinkhole)
  RunRequest& PassFd(int fd);                                                 // --pass-fd N (N >= 3, kept at N)
  RunRequest& Monitor(const std::string& events_file, bool reads = false);    // --monitor [--monitor-reads]
  RunRequest& Report(const std::string& report_file);                         // --report
  // --on-interrupt kill: SIGINT/SIGTERM/SIGHUP to `airlock run` kill the sandbox at once (the report
  // says interrupted) instead of being forwarded to the command. For consumers that supervise a run
  // (analyze, scan's extractors): their own interrupt ends the whole tree, nothing outlives them.
  RunRequest& KillOnInterrupt();
  RunRequest& Command(std::vector<std::string> argv);                         // after "--"

  // The full argv: {airlock, "run", options..., "--", command...}.
  Result<std::vector<std::string>> Argv() const;

 private:
  RunRequest& Add(std::vector<std::string> words);
  RunRequest& AddBind(const char* option, const std::string& host, const std::string& inside);
  RunRequest& AddOnce(const char* option, std::vector<std::string> words);
  void Reject(std::string why);

  std::string airlock_;
  std::vector<std::string> options_;
  std::vector<std::string> once_;  // single-valued options already given
  std::vector<std::string> command_;
  std::string error_;              // the first problem found while building
};

}  // namespace airlock::runapi
