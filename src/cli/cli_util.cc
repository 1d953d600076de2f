// Shared pieces of the subcommands: command-line parsing and loading a profile.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/log.h"
#include "policy/profile_loader.h"
#include "sandbox/outcome.h"

namespace airlock::cli {

std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return std::nullopt;
}

std::optional<Policy> LoadValidProfile(const std::string& name_or_path) {
  char cwd[4096];
  auto policy = LoadProfile(name_or_path, getcwd(cwd, sizeof cwd) ? cwd : "/");
  if (!policy) {
    LogError("{}", policy.error().What());
    return std::nullopt;
  }
  if (auto s = ValidatePolicy(*policy); !s) {
    LogError("{}", s.error().What());
    return std::nullopt;
  }
  return std::move(*policy);
}

}  // namespace airlock::cli
