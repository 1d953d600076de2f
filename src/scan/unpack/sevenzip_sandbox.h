// Encrypted 7z (AES-256) through 7-Zip's own `7zz`, run inside `airlock run`'s default sandbox
// (sandboxed_extractor.h): libarchive 3.6 cannot decrypt 7z at all. Used by the archive unpacker for
// encrypted 7z archives only. The script tests each password with `7zz t` (which checks every
// member's CRC) and extracts with the first that works, unless the archive's listing declares more
// bytes or members than the budget (7z enforces declared sizes while extracting).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scan/unpack/sandboxed_extractor.h"

namespace airlock::scan {

inline constexpr std::string_view kSevenZipSignature = "7z\xBC\xAF\x27\x1C";

using SevenZipOutcome = ExtractOutcome;
using SevenZipBudget = ExtractBudget;

// $AIRLOCK_7ZZ or /usr/bin/7zz. Empty when missing.
std::string Find7zz();

SevenZipOutcome OpenEncrypted7z(std::string_view archive, const std::vector<std::string>& passwords,
                                const SevenZipBudget& budget);

}  // namespace airlock::scan
