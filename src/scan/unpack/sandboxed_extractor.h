// Runs an archive tool inside `airlock run`'s default sandbox to open an encrypted archive that
// libarchive cannot decrypt (7z through 7zz, RAR through unar/lsar). Shared by sevenzip_sandbox and
// rar_sandbox; each supplies the tool paths and a /bin/sh script.
//
// One sandboxed run per archive: the archive (/in/<archive_name>) and the candidate passwords
// (/in/passwords, one a line) are bound read-only, an empty host directory read-write at /out. The
// script gets the input and output directories as $1 and $2 (/in and /out there; the directories
// themselves in place, see ExtractInThisSandbox), its tools as $3.., then the byte and member
// budgets; it must test the
// passwords in order, print the 1-based index of the first that works, exit 4 when the listing
// declares more than the budget (before extracting) and 3 when no password worked, otherwise
// extract into /out. No network, no capabilities, seccomp, a wall-time limit and RLIMIT_FSIZE at the
// byte budget. The host then reads back regular files only (never following links) under the byte and
// entry budgets, and removes the directory. Fails closed: a missing tool or airlock binary, or a
// sandbox that cannot start, leaves the archive "encrypted, not opened" with the reason in `detail`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::scan {

struct ExtractOutcome {
  enum class Status { kOpened, kNoPassword, kTooLarge, kUnavailable, kFailed } status = Status::kUnavailable;
  std::string password;                                     // when opened (or kTooLarge)
  std::vector<std::pair<std::string, std::string>> files;   // member path -> bytes (bounded)
  bool truncated = false;                                   // a budget stopped the read-back
  std::string detail;                                       // why not, for the finding
};

struct ExtractBudget {
  uint64_t max_bytes = 64ull << 20;  // all members together
  size_t max_files = 1000;
  int timeout_seconds = 60;
};

struct SandboxedExtractor {
  std::string tool_label;          // for details: "7zz", "unar"
  std::string missing_detail;      // detail when a tool is missing ("7zz (Debian package 7zip) is not installed")
  std::vector<std::string> tools;  // host paths, passed to the script as $1..; empty entry = missing
  std::string script;              // /bin/sh script, see above
  std::string archive_name;        // file name under /in
};

// This scan already runs in a sandbox (airlock-scan --in-sandbox): the tools run in place, confined by
// that sandbox, with the same budgets (RLIMIT_FSIZE through `ulimit -f`, the wall-time limit), instead of
// a sandbox inside the sandbox. Called once at start-up, before any thread.
void ExtractInThisSandbox();

// $AIRLOCK_BIN or the airlock binary beside this one (build and install layouts). Empty when missing.
std::string FindAirlockForScan();
// $<env_var> when set (empty if not executable), else the first executable of `candidates`, else "".
std::string FindTool(const char* env_var, const std::vector<std::string>& candidates);

ExtractOutcome RunSandboxedExtractor(const SandboxedExtractor& extractor, std::string_view archive,
                                     const std::vector<std::string>& passwords, const ExtractBudget& budget);

}  // namespace airlock::scan
