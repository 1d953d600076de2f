// A SHA-256 block-list: one lower- or upper-case hex digest per line, optional text after whitespace,
// '#' comments. A hit is a severity-10 finding "blocklist.sha256".
#pragma once

#include <memory>
#include <string>
#include <unordered_set>

#include "core/error.h"

namespace airlock::scan {

class Blocklist {
 public:
  static Result<std::unique_ptr<Blocklist>> Load(const std::string& path);
  // Parses the file's text; malformed lines are skipped.
  static Blocklist Parse(const std::string& text);
  bool Contains(const std::string& sha256_hex) const { return hashes_.count(sha256_hex) != 0; }
  size_t size() const { return hashes_.size(); }

 private:
  std::unordered_set<std::string> hashes_;
};

}  // namespace airlock::scan
