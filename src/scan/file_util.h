// Small file helpers for the scanner: bounded whole-file reads (O_CLOEXEC, optionally O_NOFOLLOW).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

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

// Writes `data` to a new file at `path` (O_EXCL | O_NOFOLLOW, mode 0600: never over an existing file
// or through a link); false on any error (errno says which).
bool WriteNewFile(const std::string& path, std::string_view data);

// A fresh private directory $TMPDIR/<prefix>.XXXXXX (else under /tmp; mkdtemp: mode 0700), removed
// with everything in it (never following links) when this goes. path() is "" when it could not be made.
class ScanTempDir {
 public:
  explicit ScanTempDir(const char* prefix);
  ~ScanTempDir();
  ScanTempDir(const ScanTempDir&) = delete;
  ScanTempDir& operator=(const ScanTempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// OpenInputFile, then ReadBounded.
Result<std::string> ReadWholeFile(const std::string& path, uint64_t max_bytes, bool* truncated = nullptr,
                                  bool no_follow = false);

}  // namespace airlock::scan
