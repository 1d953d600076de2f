// A bounded, non-blocking event queue drained by a writer thread. The seccomp supervisor pushes
// events and never waits for the output: when the queue is full, events are dropped and counted
// (reported as events_dropped), never silently lost.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace airlock {

class EventSink {
 public:
  // Writes JSON lines to fd (not owned). limit = queued events kept before dropping.
  EventSink(int fd, size_t limit);
  ~EventSink();
  EventSink(const EventSink&) = delete;
  EventSink& operator=(const EventSink&) = delete;

  void Push(std::string line);
  // Flushes the queue and stops the writer thread.
  void Close();
  uint64_t written() const { return written_; }
  uint64_t dropped() const { return dropped_; }

 private:
  void WriterLoop();
  int fd_;
  size_t limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  uint64_t written_ = 0;
  uint64_t dropped_ = 0;
  std::thread writer_;
};

}  // namespace airlock
