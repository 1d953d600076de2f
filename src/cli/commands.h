// Subcommands of the airlock front end. Each returns the process exit code.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace CLI {
class App;
}

namespace airlock::cli {

int RunCommand(int argc, char** argv);      // airlock run
int BoxCommand(int argc, char** argv);      // airlock box
// `airlock run` with a caller's change to the policy (`airlock box run`: the box's overlays): every
// run option, --profile defaulting to default_profile, adjust applied after the flags and before
// validation (its error exits 122), no warm fast path.
struct RunVariant {
  std::string usage;            // "airlock box run NAME"
  std::string description;      // the --help text
  std::string default_profile;
  std::function<Status(Policy&)> adjust;
  // >= 0: the run's behaviour events go to this descriptor (the variant keeps it open), and --monitor
  // is refused with monitor_owner's reason (`box run` of a monitored box records every run itself);
  // --monitor-reads still applies.
  int monitor_fd = -1;
  std::string monitor_owner;    // "box NAME records its runs' behaviour in DIR"
  std::string box;              // the box the run is in (`airlock ps`), or ""
};
int RunCommandAs(int argc, char** argv, const RunVariant* variant);
int ProfileCommand(int argc, char** argv);  // airlock profile list|show
int CheckCommand(int argc, char** argv);    // airlock check
int PoolCommand(int argc, char** argv);     // airlock pool
int PsCommand(int argc, char** argv);       // airlock ps
int StopCommand(int argc, char** argv);     // airlock stop
int ExecCommand(int argc, char** argv);     // airlock exec
int OpenCommand(int argc, char** argv);     // airlock open FILE: run it in the analysis sandbox (cmd_open.cc)
// Parses argv with app: the exit code to end with (help: 0, usage error: 121), or nullopt to go on.
std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv);
// Loads and validates a profile (name or file); logs why not and returns nullopt (exit 122).
std::optional<Policy> LoadValidProfile(const std::string& name_or_path);
// Execs a helper binary (airlock-scan, airlock-rules) shipped beside airlock or in the libexec dir.
int ExecHelper(const std::string& helper, int argc, char** argv);

}  // namespace airlock::cli
