#include "monitor/event_sink.h"

#include <unistd.h>

#include <cerrno>

namespace airlock {

EventSink::EventSink(int fd, size_t limit) : fd_(fd), limit_(limit), writer_([this] { WriterLoop(); }) {}

EventSink::~EventSink() { Close(); }

void EventSink::Push(std::string line) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= limit_ || closing_) {
      ++dropped_;
      return;
    }
    line.push_back('\n');
    queue_.push_back(std::move(line));
  }
  cv_.notify_one();
}

void EventSink::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) {
      if (writer_.joinable()) {
      } else {
        return;
      }
    }
    closing_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
}

void EventSink::WriterLoop() {
  std::string batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty() && closing_) return;
      batch.clear();
      size_t n = 0;
      while (!queue_.empty() && batch.size() < (1 << 16)) {
        batch += queue_.front();
        queue_.pop_front();
        ++n;
      }
      written_ += n;
    }
    const char* p = batch.data();
    size_t left = batch.size();
    while (left > 0) {
      ssize_t w = ::write(fd_, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      p += w;
      left -= static_cast<size_t>(w);
    }
  }
}

}  // namespace airlock
