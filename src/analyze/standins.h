// The recording stand-ins of `airlock analyze` (docs/EVENTS.md, "Tool stand-ins"): which tool names
// the multi-call program airlock-standin answers for, and the directory of symlinks that puts them
// on the analysis sandbox's PATH. Called by analyze_main.cc before the detonation.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"

namespace airlock::analyze {

// Where the program and its symlink directory are mounted inside the sandbox. kStandinBinDir is
// monitor/monitor.h's kStandinDir (the monitor makes tool_invocation events for it).
inline constexpr const char* kStandinProgram = "/opt/airlock/standin";
inline constexpr const char* kStandinBinDir = "/opt/airlock/bin";

// Tools always answered by the stand-in (first in PATH: the real ones cannot work in a sandbox
// without privileges, services or network), and those only where the host has none (last in PATH,
// kStandinBinDir/fallback).
const std::vector<std::string>& StandinTools();
const std::vector<std::string>& FallbackStandinTools();

// Creates `dir` (must not exist; mode 0755) with a symlink to kStandinProgram for every tool, and
// dir/fallback for the fallback tools.
Status MakeStandinDir(const std::string& dir);

// The sandbox's PATH with the stand-ins: kStandinBinDir first, the usual system directories, the
// fallback directory last.
std::string StandinPath();

}  // namespace airlock::analyze
