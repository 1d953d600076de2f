#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/check_commands.h"
#include "cli/commands.h"
#include "core/json_text.h"
#include "probe/probe.h"
#include "sandbox/outcome.h"

namespace airlock::cli {

namespace {

void PrintCommandChecks() {
  std::printf("\nWhat each command needs:\n");
  int missing = 0;
  for (const auto& c : CheckCommands()) {
    std::printf("%-28s %-4s %s: %s\n", c.command.c_str(), c.ok ? "yes" : "NO", c.item.c_str(), c.detail.c_str());
    if (!c.ok) {
      std::printf("%-28s      fix: %s\n", "", c.fix.c_str());
      ++missing;
    }
  }
  std::printf("\n%s\n", missing == 0 ? "Every command has what it needs." : "Commands marked NO fail or degrade until fixed.");
}

}  // namespace

int CheckCommand(int argc, char** argv) {
  bool json = false, full = false;
  CLI::App app{"Report what this kernel and host offer and what airlock will enforce with it; with --full, also what\n"
               "each command needs (helpers, programs, devices) and how to fix what is missing.\n"
               "Exit status 0 when the default profile can be enforced, 123 when it cannot.",
               "airlock check"};
  app.add_flag("--json", json, "machine-readable output");
  app.add_flag("--full", full, "also check what each command needs beyond the kernel");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  auto items = ProbeHost();
  bool enforceable = true;
  for (const auto& i : items)
    if (i.needed_by_default && !i.ok) enforceable = false;
  if (json) {
    nlohmann::json j;
    j["checks"] = ProbeToJson(items);
    j["default_profile_enforceable"] = enforceable;
    if (full) {
      j["commands"] = nlohmann::json::array();
      for (const auto& c : CheckCommands()) {
        j["commands"].push_back({{"command", c.command}, {"needs", c.item}, {"ok", c.ok}, {"detail", c.detail}, {"fix", c.fix}});
      }
    }
    std::puts(DumpJson(j, 2).c_str());
  } else {
    for (const auto& i : items) {
      std::printf("%-30s %-4s %s%s\n", i.name.c_str(), i.ok ? "yes" : "NO", i.detail.c_str(),
                  (!i.ok && i.needed_by_default) ? "  [required by the default profile]" : "");
    }
    std::printf("\n%s\n", enforceable ? "The default profile can be enforced on this host."
                                       : "The default profile CANNOT be enforced on this host (see the lines marked required).");
    if (full) PrintCommandChecks();
  }
  return enforceable ? 0 : kExitUnsupported;
}

}  // namespace airlock::cli
