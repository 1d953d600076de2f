// Small file helpers for the scanner: bounded whole-file reads (O_CLOEXEC, optionally O_NOFOLLOW).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::scan {

// Opens `path` to be read as a scan input: O_RDONLY | O_NONBLOCK (a FIFO or device named as input
// never blocks the open), a regular file only. "-" is a duplicate of stdin. The errors name the path
// ("open PATH: ...", "PATH: not a regular file"): they are what the report says of that input.
Result<UniqueFd> OpenInputFile(const std::string& path, bool no_follow = false);
// Reads at most `max_bytes` from `fd` (its current offset to the end); `name` is for errors.
// `*truncated` (if given) tells whether more data was left.
Result<std::string> ReadBounded(int fd, const std::string& name, uint64_t max_bytes, bool* truncated = nullptr);
// The host uid the scan's sandboxes run as (airlock run's default profile): the caller, or nobody
// (65534, the profile's [identity]) when the caller is root.
uid_t SandboxHostUid();
// Hands `path` (never following a link) to SandboxHostUid() when we are root; a no-op otherwise.
bool HandToSandbox(const std::string& path);

// OpenInputFile, then ReadBounded.
Result<std::string> ReadWholeFile(const std::string& path, uint64_t max_bytes, bool* truncated = nullptr,
                                  bool no_follow = false);

}  // namespace airlock::scan
