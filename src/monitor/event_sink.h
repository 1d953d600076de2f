// A bounded, non-blocking event buffer drained by a writer thread. The seccomp supervisor pushes
// events and never waits for the output: when the buffer is full, events are dropped and counted
// (reported as events_dropped), never silently lost.
//
// Hot-path design (docs/PERFORMANCE.md, monitor): Push appends the line to one pending buffer under a
// mutex (no per-event allocation once the buffer has grown) and wakes the writer only when the buffer
// goes from empty to non-empty or crosses a high-water mark; the writer then waits up to
// kBatchDelay for more lines and writes the whole buffer with one write(2) loop while the producers
// fill the other one. Events reach the file at most ~kBatchDelay after they were pushed.
//
// Thread-safety: Push may be called from several threads (the supervisor, the network sinkhole).
// written() and dropped() are exact after Close().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace airlock {

class EventSink {
 public:
  // Writes JSON lines to fd (not owned). limit = lines buffered before dropping; byte_limit bounds
  // the buffer's memory whatever the lines' size.
  EventSink(int fd, size_t limit, size_t byte_limit = 64u << 20);
  ~EventSink();
  EventSink(const EventSink&) = delete;
  EventSink& operator=(const EventSink&) = delete;

  // One line, without its trailing newline.
  void Push(std::string_view line);
  // Flushes the buffer and stops the writer thread.
  void Close();
  uint64_t written() const { return written_; }
  uint64_t dropped() const { return dropped_; }

  static constexpr std::chrono::milliseconds kBatchDelay{5};

 private:
  void WriterLoop();
  bool Full() const { return pending_lines_ >= limit_ || pending_.size() >= byte_limit_; }
  int fd_;
  size_t limit_;
  size_t byte_limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;
  size_t pending_lines_ = 0;
  bool closing_ = false;
  uint64_t written_ = 0;
  uint64_t dropped_ = 0;
  std::thread writer_;
};

}  // namespace airlock
