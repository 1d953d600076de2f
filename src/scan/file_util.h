// Small file helpers for the scanner: bounded whole-file reads (O_CLOEXEC, optionally O_NOFOLLOW).
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"

namespace airlock::scan {

// Reads at most `max_bytes` of `path` ("-" reads stdin). `*truncated` (if given) tells whether more
// data was left. Fails on open/read errors and on non-regular files (except stdin).
Result<std::string> ReadWholeFile(const std::string& path, uint64_t max_bytes, bool* truncated = nullptr,
                                  bool no_follow = false);

}  // namespace airlock::scan
