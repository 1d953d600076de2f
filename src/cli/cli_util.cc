// Shared pieces of the subcommands: command-line parsing and loading a profile.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/log.h"
#include "policy/profile_loader.h"
#include "sandbox/outcome.h"

namespace airlock::cli {

namespace {

// The first word of argv that looks like an option CLI11 did not know ("--frobnicate"), or "".
std::string UnknownOption(int argc, char** argv, const CLI::App& app) {
  for (int i = 1; i < argc; ++i) {
    const std::string w = argv[i];
    if (w == "--") break;
    if (w.size() < 2 || w[0] != '-') continue;
    const std::string name = w.substr(0, w.find('='));
    try {
      (void)app.get_option(name);
    } catch (const CLI::OptionNotFound&) {
      return name;
    }
  }
  return "";
}

}  // namespace

std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    // CLI11 says "The following arguments were not expected: -- --frobnicate": name the option instead.
    if (std::string opt = UnknownOption(argc, argv, app); !opt.empty()) {
      LogError("{}: unknown option {} (`{} --help` lists the options)", app.get_name(), opt, app.get_name());
    } else {
      app.exit(e);
    }
    return kExitUsage;
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
