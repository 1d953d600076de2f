// The bounded message spool: the bytes of one message as the MTA hands them to the milter (header
// lines, blank line, body). Kept in memory up to `memory_limit`, then in an unlinked temporary file
// (O_TMPFILE) under `dir`; past `max_size` it stops storing and only counts (the message is then
// oversize: the daemon tempfails it, or accepts it unscanned when fail_open).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::milter {

class Spool {
 public:
  Spool(std::string dir, uint64_t memory_limit, uint64_t max_size)
      : dir_(std::move(dir)), memory_limit_(memory_limit), max_size_(max_size) {}

  Status Append(std::string_view data);
  uint64_t size() const { return size_; }          // bytes offered, including those not stored
  bool oversize() const { return size_ > max_size_; }
  bool on_disk() const { return file_.valid(); }
  // The stored bytes (reads the file back when spilled). Fails when oversize.
  Result<std::string> Contents() const;

 private:
  std::string dir_;
  uint64_t memory_limit_;
  uint64_t max_size_;
  uint64_t size_ = 0;
  std::string mem_;
  UniqueFd file_;
};

}  // namespace airlock::milter
