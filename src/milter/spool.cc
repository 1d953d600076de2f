#include "milter/spool.h"

#include <fcntl.h>
#include <unistd.h>

namespace airlock::milter {

Status Spool::Append(std::string_view data) {
  size_ += data.size();
  if (size_ > max_size_) {
    mem_.clear();
    mem_.shrink_to_fit();
    file_.reset();
    return Ok();
  }
  if (!file_.valid() && mem_.size() + data.size() <= memory_limit_) {
    mem_.append(data);
    return Ok();
  }
  if (!file_.valid()) {
    int fd = ::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError("spool: temporary file in " + dir_);
    file_ = UniqueFd(fd);
    std::string_view m = mem_;
    while (!m.empty()) {
      ssize_t n = ::write(file_.get(), m.data(), m.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("spool: write");
      }
      m.remove_prefix(static_cast<size_t>(n));
    }
    mem_.clear();
    mem_.shrink_to_fit();
  }
  while (!data.empty()) {
    ssize_t n = ::write(file_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("spool: write");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

Result<std::string> Spool::Contents() const {
  if (oversize()) return MakeError("message larger than max_message_size", EFBIG);
  if (!file_.valid()) return mem_;
  std::string out(size_, '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(file_.get(), out.data() + got, out.size() - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("spool: read back");
    }
    if (n == 0) return MakeError("spool: file shorter than expected", EIO);
    got += static_cast<size_t>(n);
  }
  return out;
}

}  // namespace airlock::milter
