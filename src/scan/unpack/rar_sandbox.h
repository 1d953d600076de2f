// Encrypted RAR (RAR 5 AES-256, RAR 4 AES-128) through The Unarchiver's `lsar`/`unar` (Debian package
// unar), run inside `airlock run`'s default sandbox (sandboxed_extractor.h): libarchive 3.6 reads RAR
// but cannot decrypt it. Used by the archive unpacker for encrypted RAR archives only. The script
// tests each password with `lsar -t` (which decrypts every member and checks its CRC; a wrong RAR 5
// password is rejected by the password check value), checks the JSON listing's member count and
// declared sizes against the budget, and extracts with `unar` and the first password that works.
// `-no-recursion` everywhere: nested archives are the engine's business, not unar's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scan/unpack/sandboxed_extractor.h"

namespace airlock::scan {

// "Rar!\x1a\x07" followed by \x00 (RAR 1.5-4.x) or \x01\x00 (RAR 5).
inline constexpr std::string_view kRarSignature = "Rar!\x1a\x07";

// $AIRLOCK_UNAR / $AIRLOCK_LSAR or /usr/bin/unar, /usr/bin/lsar. Empty when missing.
std::string FindUnar();
std::string FindLsar();

ExtractOutcome OpenEncryptedRar(std::string_view archive, const std::vector<std::string>& passwords,
                                const ExtractBudget& budget);

}  // namespace airlock::scan
