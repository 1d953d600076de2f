#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "core/unique_fd.h"
#include "milter/frame.h"

namespace airlock::milter {
namespace {

struct Pipe {
  UniqueFd r, w;
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    r = UniqueFd(fds[0]);
    w = UniqueFd(fds[1]);
  }
};

TEST(Frame, RoundTripWithBinaryPayloadLargerThanThePipe) {
  Pipe p;
  std::string payload(3 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  std::thread writer([&] { EXPECT_TRUE(WriteFrame(p.w.get(), "{\"op\":\"scan\"}", payload)); });
  auto f = ReadFrame(p.r.get(), std::chrono::steady_clock::now() + std::chrono::seconds(30));
  writer.join();
  ASSERT_TRUE(f) << f.error().What();
  EXPECT_EQ(f->header, "{\"op\":\"scan\"}");
  EXPECT_EQ(f->payload, payload);
}

TEST(Frame, EndOfStreamTruncationAndOversizeAreErrors) {
  {
    Pipe p;
    p.w.reset();
    auto f = ReadFrame(p.r.get());
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().message(), "end of stream");
  }
  {
    Pipe p;
    const char partial[] = {5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{', '"'};
    ASSERT_EQ(write(p.w.get(), partial, sizeof partial), static_cast<ssize_t>(sizeof partial));
    p.w.reset();
    auto f = ReadFrame(p.r.get());
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().err(), EPROTO);
  }
  {
    Pipe p;
    const unsigned char huge[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
    ASSERT_EQ(write(p.w.get(), huge, sizeof huge), static_cast<ssize_t>(sizeof huge));
    auto f = ReadFrame(p.r.get());
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().err(), EPROTO);
  }
}

TEST(Frame, DeadlineOnASilentPeer) {
  Pipe p;
  auto f = ReadFrame(p.r.get(), std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().err(), ETIMEDOUT);
}

}  // namespace
}  // namespace airlock::milter
