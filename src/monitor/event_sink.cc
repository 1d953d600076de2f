#include "monitor/event_sink.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace airlock {

EventSink::EventSink(int fd, size_t limit, size_t byte_limit)
    : fd_(fd), limit_(limit), byte_limit_(byte_limit), writer_([this] { WriterLoop(); }) {}

EventSink::~EventSink() { Close(); }

void EventSink::Push(std::string_view line) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_ || Full()) {
      ++dropped_;
      return;
    }
    pending_.append(line);
    pending_ += '\n';
    ++pending_lines_;
    // Wake the writer when it may be idle (first line) and when the buffer fills up, not per line.
    wake = pending_lines_ == 1 || pending_lines_ == limit_ / 2;
  }
  if (wake) cv_.notify_one();
}

void EventSink::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
}

void EventSink::WriterLoop() {
  std::string batch;
  for (;;) {
    size_t lines = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return closing_ || pending_lines_ > 0; });
      // Let a batch gather: the supervisor keeps pushing while we sleep.
      cv_.wait_for(lock, kBatchDelay, [this] { return closing_ || pending_lines_ >= limit_ / 2; });
      if (pending_lines_ == 0 && closing_) return;
      batch.clear();
      batch.swap(pending_);
      lines = pending_lines_;
      pending_lines_ = 0;
    }
    const char* p = batch.data();
    size_t left = batch.size();
    while (left > 0) {
      ssize_t w = ::write(fd_, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) {  // a non-blocking output (e.g. stdout): wait, do not lose lines
        pollfd pfd{fd_, POLLOUT, 0};
        if (::poll(&pfd, 1, -1) >= 0 || errno == EINTR) continue;
      }
      if (w <= 0) break;
      p += w;
      left -= static_cast<size_t>(w);
    }
    std::lock_guard<std::mutex> lock(mu_);
    written_ += lines;
  }
}

}  // namespace airlock
