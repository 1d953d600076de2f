// The worker protocol: length-prefixed frames on a pipe. A frame is a JSON header and an opaque
// payload: [u32 header length][u64 payload length][header][payload], lengths little-endian.
// Both directions use it (request: {"op": ...} + message bytes; reply: {"report": ...} + bytes).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace airlock::milter {

inline constexpr uint32_t kMaxFrameHeader = 64u << 20;
inline constexpr uint64_t kMaxFramePayload = 1ull << 30;

struct Frame {
  std::string header;   // JSON text
  std::string payload;
};

using Deadline = std::chrono::steady_clock::time_point;
inline Deadline NoDeadline() { return Deadline::max(); }

// Writes the whole frame; fails with ETIMEDOUT past the deadline, EPIPE when the reader is gone.
Status WriteFrame(int fd, const std::string& header, const std::string& payload, Deadline deadline = NoDeadline());
// Reads one frame; fails with ETIMEDOUT past the deadline, "end of stream" (errno 0) on EOF before
// a frame started, and EPROTO on a truncated or oversized frame.
Result<Frame> ReadFrame(int fd, Deadline deadline = NoDeadline());

}  // namespace airlock::milter
