#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "core/log.h"
#include "policy/profile_loader.h"
#include "sandbox/outcome.h"

namespace airlock::cli {

int ProfileCommand(int argc, char** argv) {
  CLI::App app{"List the built-in profiles, or show a profile's effective policy.", "airlock profile"};
  app.require_subcommand(1);
  auto* list = app.add_subcommand("list", "list the built-in profiles");
  std::string name;
  bool toml = false;
  auto* show = app.add_subcommand("show", "print the effective policy of a built-in profile or TOML file");
  show->add_option("name", name, "profile name or file")->required();
  show->add_flag("--toml", toml, "print the resolved profile as TOML instead of the explanation");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (list->parsed()) {
    for (const auto& p : BuiltinProfiles()) std::printf("%-12s %s\n", p.name.c_str(), p.description.c_str());
    return 0;
  }
  (void)show;
  auto policy = LoadValidProfile(name);
  if (!policy) return kExitProfile;
  std::fputs(toml ? PolicyToToml(*policy).c_str() : ExplainPolicy(*policy).c_str(), stdout);
  return 0;
}

}  // namespace airlock::cli
