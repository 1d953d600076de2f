#include "milter/frame.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace airlock::milter {
namespace {

int PollTimeoutMs(Deadline deadline) {
  if (deadline == Deadline::max()) return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 1 << 30));
}

Status WaitFd(int fd, short events, Deadline deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int timeout = PollTimeoutMs(deadline);
    int r = ::poll(&p, 1, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("poll");
    }
    if (r == 0) return MakeError("worker deadline passed", ETIMEDOUT);
    return Ok();
  }
}

Status WriteAll(int fd, const char* data, size_t n, Deadline deadline) {
  while (n > 0) {
    if (auto w = WaitFd(fd, POLLOUT, deadline); !w) return w;
    ssize_t k = ::write(fd, data, std::min<size_t>(n, 1 << 20));
    if (k < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return ErrnoError("write to worker");
    }
    data += k;
    n -= static_cast<size_t>(k);
  }
  return Ok();
}

// Returns the number of bytes read (< n only at EOF).
Result<size_t> ReadAll(int fd, char* data, size_t n, Deadline deadline) {
  size_t got = 0;
  while (got < n) {
    if (auto w = WaitFd(fd, POLLIN, deadline); !w) return std::unexpected(w.error());
    ssize_t k = ::read(fd, data + got, std::min<size_t>(n - got, 1 << 20));
    if (k < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return ErrnoError("read from worker");
    }
    if (k == 0) break;
    got += static_cast<size_t>(k);
  }
  return got;
}

}  // namespace

Status WriteFrame(int fd, const std::string& header, const std::string& payload, Deadline deadline) {
  if (header.size() > kMaxFrameHeader || payload.size() > kMaxFramePayload) return MakeError("frame too large", EMSGSIZE);
  unsigned char prefix[12];
  uint32_t h = static_cast<uint32_t>(header.size());
  uint64_t p = payload.size();
  for (int i = 0; i < 4; ++i) prefix[i] = static_cast<unsigned char>(h >> (8 * i));
  for (int i = 0; i < 8; ++i) prefix[4 + i] = static_cast<unsigned char>(p >> (8 * i));
  if (auto s = WriteAll(fd, reinterpret_cast<const char*>(prefix), sizeof prefix, deadline); !s) return s;
  if (auto s = WriteAll(fd, header.data(), header.size(), deadline); !s) return s;
  return WriteAll(fd, payload.data(), payload.size(), deadline);
}

Result<Frame> ReadFrame(int fd, Deadline deadline) {
  unsigned char prefix[12];
  auto n = ReadAll(fd, reinterpret_cast<char*>(prefix), sizeof prefix, deadline);
  if (!n) return std::unexpected(n.error());
  if (*n == 0) return MakeError("end of stream");
  if (*n < sizeof prefix) return MakeError("truncated frame", EPROTO);
  uint32_t h = 0;
  uint64_t p = 0;
  for (int i = 0; i < 4; ++i) h |= static_cast<uint32_t>(prefix[i]) << (8 * i);
  for (int i = 0; i < 8; ++i) p |= static_cast<uint64_t>(prefix[4 + i]) << (8 * i);
  if (h > kMaxFrameHeader || p > kMaxFramePayload) return MakeError("oversized frame", EPROTO);
  Frame f;
  f.header.resize(h);
  f.payload.resize(p);
  auto a = ReadAll(fd, f.header.data(), h, deadline);
  if (!a) return std::unexpected(a.error());
  if (*a < h) return MakeError("truncated frame", EPROTO);
  auto b = ReadAll(fd, f.payload.data(), p, deadline);
  if (!b) return std::unexpected(b.error());
  if (*b < p) return MakeError("truncated frame", EPROTO);
  return f;
}

}  // namespace airlock::milter
