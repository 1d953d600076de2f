// `airlock quarantine [--state-dir DIR] [--config FILE] list [--json] | show ID | release ID | delete ID`
// Exit: 0 ok, 1 unknown ID, 2 error. release: `postsuper -H QID` when the MTA still holds the message (`postqueue -j`, found beside
// postsuper, lists it in the hold queue),
// else re-injects message.eml unchanged with `sendmail -i -f SENDER -- RCPTS`; then removes the entry.
// delete: removes the entry and `postsuper -d QID hold`.
#pragma once

#include <string>
#include <vector>

namespace airlock::milter {

int QuarantineMain(int argc, char** argv);

struct ProgramResult {
  int status = -1;     // exit status, 128+N for a signal, -1 when it could not start
  std::string err;     // stderr (first 64 KiB)
};
// Runs argv without a shell, with `input` on stdin; stdout goes to *out (or is discarded).
ProgramResult RunProgram(const std::vector<std::string>& argv, const std::string& input, std::string* out = nullptr);

}  // namespace airlock::milter
