#include "milter/detonation_slots.h"

#include <algorithm>

namespace airlock::milter {

DetonationSlots::DetonationSlots(int limit, int queue) : limit_(std::max(1, limit)), queue_(std::max(0, queue)) {}

DetonationSlots::Wait DetonationSlots::Acquire(Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (running_ < limit_ && waiting_ == 0) {
    ++running_;
    return Wait::kAcquired;
  }
  if (waiting_ >= queue_) return Wait::kOverloaded;
  uint64_t ticket = next_ticket_++;
  ++waiting_;
  // Served in ticket order; a waiter that times out is skipped by advancing `serving_` past it.
  auto mine = [&] { return ticket == serving_ && running_ < limit_; };
  bool got;
  if (deadline == Clock::time_point::max()) {
    cv_.wait(lock, mine);
    got = true;
  } else {
    got = cv_.wait_until(lock, deadline, mine);
  }
  --waiting_;
  if (got) {
    ++running_;
    ++serving_;
    while (serving_ < next_ticket_ && abandoned_.erase(serving_) > 0) ++serving_;
    cv_.notify_all();
    return Wait::kAcquired;
  }
  if (ticket == serving_) {
    ++serving_;
    while (serving_ < next_ticket_ && abandoned_.erase(serving_) > 0) ++serving_;
    cv_.notify_all();
  } else {
    abandoned_.insert(ticket);
  }
  return Wait::kTimeout;
}

void DetonationSlots::Release() {
  {
    std::lock_guard lock(mu_);
    --running_;
  }
  cv_.notify_all();
}

int DetonationSlots::running() {
  std::lock_guard lock(mu_);
  return running_;
}

int DetonationSlots::waiting() {
  std::lock_guard lock(mu_);
  return waiting_;
}

}  // namespace airlock::milter
