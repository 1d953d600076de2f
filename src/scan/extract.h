// --extract DIR: writes every scanned object into DIR under a generated name
// "<NNNNNN>-<sanitized leaf>". Names contain only [A-Za-z0-9._-], never start with '.', never contain
// '/', and files are created with openat(dirfd, name, O_CREAT|O_EXCL|O_NOFOLLOW) relative to a
// directory fd opened once, so nothing is ever written outside DIR or through a symlink.
// Thread-safe (numbering is atomic).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::scan {

class Extractor {
 public:
  // Creates DIR (mode 0700) if missing; DIR itself may not be a symlink.
  static Result<std::unique_ptr<Extractor>> Open(const std::string& dir);
  // Writes `data` (mode 0600); returns the generated file name (relative to DIR).
  Result<std::string> Write(std::string_view leaf_name, std::string_view data);

 private:
  explicit Extractor(UniqueFd dir) : dir_(std::move(dir)) {}
  UniqueFd dir_;
  std::atomic<uint64_t> counter_{0};
};

// The sanitized leaf used in generated names (exposed for tests): basename only, safe characters,
// at most 80 characters, "object" when nothing is left.
std::string SanitizeLeaf(std::string_view name);

}  // namespace airlock::scan
