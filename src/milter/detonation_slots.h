// Bounded concurrency for detonations (`airlock analyze` runs) in airlock-milter.
//
// At most `limit` analyses run at once ([detonation].concurrency, default: the number of CPUs): an
// analysis is CPU-bound, so running more than the machine has cores only makes every one of them
// finish later (ten at once on two cores all end after ~5x their own time). Callers beyond the limit
// wait in a queue of at most `queue` ([milter].queue); one more is refused at once (kOverloaded:
// back-pressure, the message is tempfailed and the MTA retries). A waiter gives up at its deadline
// (kTimeout). Slots are granted in arrival order.
// Thread-safe: libmilter's connection threads and the background analyses share one instance.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>

namespace airlock::milter {

class DetonationSlots {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Wait { kAcquired, kOverloaded, kTimeout };

  DetonationSlots(int limit, int queue);
  DetonationSlots(const DetonationSlots&) = delete;
  DetonationSlots& operator=(const DetonationSlots&) = delete;

  // Takes a slot, waiting until `deadline` (Clock::time_point::max(): no deadline). On kAcquired the
  // caller must Release() once.
  Wait Acquire(Clock::time_point deadline);
  void Release();

  int limit() const { return limit_; }
  int running();
  int waiting();

 private:
  const int limit_;
  const int queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;
  int waiting_ = 0;
  uint64_t next_ticket_ = 0;   // arrival order of waiters
  uint64_t serving_ = 0;       // the oldest ticket still waiting
  std::set<uint64_t> abandoned_;   // tickets whose waiter timed out before its turn
};

// Holds one slot for a scope.
class DetonationSlot {
 public:
  DetonationSlot(DetonationSlots& slots, DetonationSlots::Clock::time_point deadline)
      : slots_(slots), result_(slots.Acquire(deadline)) {}
  ~DetonationSlot() {
    if (result_ == DetonationSlots::Wait::kAcquired) slots_.Release();
  }
  DetonationSlot(const DetonationSlot&) = delete;
  DetonationSlot& operator=(const DetonationSlot&) = delete;
  DetonationSlots::Wait result() const { return result_; }

 private:
  DetonationSlots& slots_;
  DetonationSlots::Wait result_;
};

}  // namespace airlock::milter
