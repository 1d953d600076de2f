// Encrypted 7z (AES-256) through 7-Zip's own `7zz`, run inside `airlock run`'s default sandbox:
// libarchive 3.6 cannot decrypt 7z at all. Used by the archive unpacker for encrypted 7z archives only.
//
// One sandboxed run per archive: the archive and the candidate passwords are bound read-only at /in,
// an empty host directory read-write at /out; a /bin/sh loop tests each password (`7zz t`, which checks
// every member's CRC) and extracts with the first that works, unless the archive's listing declares
// more bytes or members than the budget (7z enforces declared sizes while extracting). No network,
// no capabilities, seccomp, a wall-time limit and RLIMIT_FSIZE at the byte budget. The host then reads back
// regular files only (never following links) under the byte and entry budgets, and removes the
// directory. Fails closed: without `airlock` or `7zz`, or when the sandbox cannot start, the archive
// stays "encrypted, not opened".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::scan {

inline constexpr std::string_view kSevenZipSignature = "7z\xBC\xAF\x27\x1C";

struct SevenZipOutcome {
  enum class Status { kOpened, kNoPassword, kTooLarge, kUnavailable, kFailed } status = Status::kUnavailable;
  std::string password;                                     // when opened (or kTooLarge)
  std::vector<std::pair<std::string, std::string>> files;   // member path -> bytes (bounded)
  bool truncated = false;                                   // a budget stopped the read-back
  std::string detail;                                       // why not, for the finding
};

struct SevenZipBudget {
  uint64_t max_bytes = 64ull << 20;  // all members together
  size_t max_files = 1000;
  int timeout_seconds = 60;
};

// Paths of the helpers: $AIRLOCK_BIN or the airlock binary beside this one (build and install
// layouts); $AIRLOCK_7ZZ or /usr/bin/7zz. Empty when missing.
std::string FindAirlockForScan();
std::string Find7zz();

SevenZipOutcome OpenEncrypted7z(std::string_view archive, const std::vector<std::string>& passwords,
                                const SevenZipBudget& budget);

}  // namespace airlock::scan
