// `airlock check --full`: for each command, what it needs beyond what the kernel probes cover
// (probe/probe.h): airlock's helper binaries, programs and libraries from Debian, device permissions.
// Each check says what it found and, when missing, the command that fixes it.
#pragma once

#include <string>
#include <vector>

namespace airlock::cli {

struct CommandCheck {
  std::string command;  // "run --net user", "analyze (HTML, SVG)"
  std::string item;     // what it needs
  bool ok = false;
  std::string detail;   // where it was found, or what is wrong
  std::string fix;      // "" when ok
};

std::vector<CommandCheck> CheckCommands();

}  // namespace airlock::cli
