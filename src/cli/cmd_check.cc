#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "core/json_text.h"
#include "probe/probe.h"
#include "sandbox/outcome.h"

namespace airlock::cli {

int CheckCommand(int argc, char** argv) {
  bool json = false;
  CLI::App app{"Report what this kernel and host offer and what airlock will enforce with it.\n"
               "Exit status 0 when the default profile can be enforced, 123 when it cannot.",
               "airlock check"};
  app.add_flag("--json", json, "machine-readable output");
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
    std::puts(DumpJson(j, 2).c_str());
  } else {
    for (const auto& i : items) {
      std::printf("%-30s %-4s %s%s\n", i.name.c_str(), i.ok ? "yes" : "NO", i.detail.c_str(),
                  (!i.ok && i.needed_by_default) ? "  [required by the default profile]" : "");
    }
    std::printf("\n%s\n", enforceable ? "The default profile can be enforced on this host."
                                       : "The default profile CANNOT be enforced on this host (see the lines marked required).");
  }
  return enforceable ? 0 : kExitUnsupported;
}

}  // namespace airlock::cli
