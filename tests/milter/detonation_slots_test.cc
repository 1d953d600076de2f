// DetonationSlots: at most `limit` holders, a bounded FIFO wait queue, deadlines.
#include "milter/detonation_slots.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace airlock::milter {
namespace {

using Clock = DetonationSlots::Clock;
using Wait = DetonationSlots::Wait;

void WaitUntilWaiting(DetonationSlots& s, int n) {
  while (s.waiting() != n) std::this_thread::yield();
}

TEST(DetonationSlots, GrantsUpToTheLimitThenTimesOut) {
  DetonationSlots s(2, 4);
  EXPECT_EQ(s.Acquire(Clock::now()), Wait::kAcquired);
  EXPECT_EQ(s.Acquire(Clock::now()), Wait::kAcquired);
  EXPECT_EQ(s.running(), 2);
  EXPECT_EQ(s.Acquire(Clock::now() + std::chrono::milliseconds(20)), Wait::kTimeout);
  EXPECT_EQ(s.waiting(), 0);
  s.Release();
  EXPECT_EQ(s.Acquire(Clock::now()), Wait::kAcquired);
}

TEST(DetonationSlots, RefusesBeyondTheQueue) {
  DetonationSlots s(1, 1);
  ASSERT_EQ(s.Acquire(Clock::now()), Wait::kAcquired);
  std::thread waiter([&] {
    EXPECT_EQ(s.Acquire(Clock::time_point::max()), Wait::kAcquired);
    s.Release();
  });
  WaitUntilWaiting(s, 1);
  EXPECT_EQ(s.Acquire(Clock::time_point::max()), Wait::kOverloaded);   // back-pressure, at once
  s.Release();
  waiter.join();
  EXPECT_EQ(s.running(), 0);
}

TEST(DetonationSlots, ServesWaitersInArrivalOrderAndSkipsThoseWhoGaveUp) {
  DetonationSlots s(1, 8);
  ASSERT_EQ(s.Acquire(Clock::now()), Wait::kAcquired);
  std::vector<int> order;
  std::mutex mu;
  std::vector<std::thread> ts;
  for (int i = 0; i < 3; ++i) {
    ts.emplace_back([&, i] {
      ASSERT_EQ(s.Acquire(Clock::time_point::max()), Wait::kAcquired);
      {
        std::lock_guard lock(mu);
        order.push_back(i);
      }
      s.Release();
    });
    WaitUntilWaiting(s, i + 1);
    if (i == 0) {
      // A waiter between the first and the others gives up: it must not block the line.
      EXPECT_EQ(s.Acquire(Clock::now() + std::chrono::milliseconds(10)), Wait::kTimeout);
    }
  }
  s.Release();
  for (auto& t : ts) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(DetonationSlots, NeverMoreThanTheLimitAtOnce) {
  DetonationSlots s(3, 64);
  std::atomic<int> inside{0}, most{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&] {
      for (int k = 0; k < 200; ++k) {
        ASSERT_EQ(s.Acquire(Clock::time_point::max()), Wait::kAcquired);
        int n = ++inside;
        int m = most.load();
        while (n > m && !most.compare_exchange_weak(m, n)) {
        }
        std::this_thread::yield();
        --inside;
        s.Release();
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 1);
  EXPECT_EQ(s.running(), 0);
}

}  // namespace
}  // namespace airlock::milter
