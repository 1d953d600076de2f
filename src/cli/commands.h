// Subcommands of the airlock front end. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace airlock::cli {

int RunCommand(int argc, char** argv);      // airlock run
int ProfileCommand(int argc, char** argv);  // airlock profile list|show
int CheckCommand(int argc, char** argv);    // airlock check
int PoolCommand(int argc, char** argv);     // airlock pool
// Execs a helper binary (airlock-scan, airlock-rules) shipped beside airlock or in the libexec dir.
int ExecHelper(const std::string& helper, int argc, char** argv);

}  // namespace airlock::cli
