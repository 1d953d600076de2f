// The worker thread of a parent-side network service (the sinkhole, the --net-allow resolver): it runs
// the service's poll loop, which watches stop_fd() among its sockets and returns once it is readable.
// Start() makes the stop descriptor (an eventfd) and the thread; Stop() makes the descriptor readable
// and joins; both are idempotent and the destructor stops.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <thread>
#include <utility>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock {

class ServiceThread {
 public:
  ServiceThread() = default;
  ~ServiceThread() { Stop(); }
  ServiceThread(const ServiceThread&) = delete;
  ServiceThread& operator=(const ServiceThread&) = delete;

  template <class Loop>
  Status Start(Loop loop) {
    stop_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stop_) return ErrnoError("eventfd");
    thread_ = std::thread(std::move(loop));
    return Ok();
  }
  void Stop() {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    if (::write(stop_.get(), &one, sizeof one) != sizeof one) {
      // A fresh eventfd cannot be full; nothing else to do.
    }
    thread_.join();
  }
  int stop_fd() const { return stop_.get(); }

 private:
  UniqueFd stop_;
  std::thread thread_;
};

}  // namespace airlock
