// The daemon's log: lines queued by any thread without blocking (the gate's answering threads log
// through it), written by one thread to stderr or a file, each prefixed with a UTC time stamp.
// Bounded: beyond `limit` queued lines new ones are dropped and counted; the next written line says
// how many were lost. The file is opened O_APPEND and reopened on SIGHUP-free rotation by name
// (checked once a second: a rotated-away file is reopened).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::watch {

class EventLog {
 public:
  // path "-" = stderr.
  static Result<std::unique_ptr<EventLog>> Open(const std::string& path, size_t limit = 10000);
  ~EventLog();  // writes what is queued, then stops
  void Write(std::string line);  // never blocks on I/O
  uint64_t dropped() const;

 private:
  EventLog(std::string path, UniqueFd fd, size_t limit);
  void Loop();
  std::string path_;
  UniqueFd fd_;
  size_t limit_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  uint64_t dropped_ = 0, dropped_reported_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace airlock::watch
