// EventSink: lines arrive complete and in order; when the output stalls, the buffer stays bounded and
// every line is either written or counted as dropped.
#include "monitor/event_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>

using namespace airlock;

namespace {

std::string Drain(int fd) {
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace

TEST(MonitorEventSink, WritesEveryLineInOrder) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::string got;
  std::thread reader([&] { got = Drain(p[0]); });
  std::string want;
  {
    EventSink sink(p[1], 1 << 20);
    for (int i = 0; i < 20000; ++i) {
      std::string line = "{\"n\":" + std::to_string(i) + "}";
      sink.Push(line);
      want += line + "\n";
    }
    sink.Close();
    EXPECT_EQ(sink.written(), 20000u);
    EXPECT_EQ(sink.dropped(), 0u);
  }
  ::close(p[1]);
  reader.join();
  ::close(p[0]);
  EXPECT_EQ(got, want);
}

TEST(MonitorEventSink, AStalledOutputDropsAndCountsInsteadOfGrowing) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  // Fill the pipe so that the writer thread blocks in write(2).
  ASSERT_EQ(::fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
  std::string block(4096, 'x');
  size_t prefilled = 0;
  for (ssize_t n; (n = ::write(p[1], block.data(), block.size())) > 0;) prefilled += static_cast<size_t>(n);
  ASSERT_EQ(::fcntl(p[1], F_SETFL, 0), 0);

  constexpr size_t kLimit = 100;
  constexpr int kPushed = 3 * kLimit;  // the writer holds at most one batch (<= kLimit), the buffer kLimit
  EventSink sink(p[1], kLimit);
  for (int i = 0; i < kPushed; ++i) sink.Push("{\"event\":" + std::to_string(i) + "}");
  std::string got;
  std::thread reader([&] { got = Drain(p[0]); });
  sink.Close();
  ::close(p[1]);
  reader.join();
  ::close(p[0]);
  EXPECT_GE(sink.dropped(), kLimit);
  EXPECT_EQ(sink.written() + sink.dropped(), static_cast<uint64_t>(kPushed));
  ASSERT_GE(got.size(), prefilled);
  std::string lines = got.substr(prefilled);
  EXPECT_EQ(static_cast<uint64_t>(std::count(lines.begin(), lines.end(), '\n')), sink.written());
}
