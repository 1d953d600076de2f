// Reading a small configuration-like file whose path comes from the user: regular files only (a FIFO
// or device never blocks or streams forever), bounded in size.
#pragma once

#include <cstddef>
#include <string>

#include "core/error.h"

namespace airlock {

// Reads `path` if it is a regular file of at most max_bytes; otherwise an error ending in
// "<path>: <too_large_message>" (e.g. "profile larger than 1 MiB").
Result<std::string> ReadRegularFileBounded(const std::string& path, size_t max_bytes, const std::string& too_large_message);

}  // namespace airlock
