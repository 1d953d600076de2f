// Chrome DevTools Protocol (CDP) over `--remote-debugging-pipe`: Chromium reads commands from fd 3
// and writes replies and events to fd 4; each message is one JSON object followed by a NUL byte.
// Pure code (no I/O), used by airlock-browse and unit-tested on its own.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace airlock::analyze::cdp {

// Splits the byte stream from Chromium into messages. A message that grows past `max_message` bytes
// without its NUL terminator is an error (the stream is then unusable: the caller stops).
class Framer {
 public:
  explicit Framer(size_t max_message = 32u << 20) : max_(max_message) {}

  [[nodiscard]] Status Feed(std::string_view bytes);
  // The next complete message without its NUL, or nullopt when none is complete yet.
  std::optional<std::string> Next();
  size_t buffered() const { return buf_.size() - start_; }

 private:
  std::string buf_;
  size_t start_ = 0;  // first byte not yet returned by Next()
  size_t tail_ = 0;   // first byte after the last NUL seen (start of the unterminated message)
  size_t max_;
};

// One command, NUL-terminated, ready to write to fd 3. `session_id` addresses an attached target
// (flat mode); empty for the browser itself.
std::string EncodeCommand(int64_t id, std::string_view method, const nlohmann::json& params = nlohmann::json::object(),
                          std::string_view session_id = {});

// A message from Chromium: either a reply (id set; result or error) or an event (method, params).
struct Message {
  std::optional<int64_t> id;
  std::string method;
  std::string session_id;
  nlohmann::json params = nlohmann::json::object();
  nlohmann::json result = nlohmann::json::object();
  std::string error;  // a reply's error message ("" when it succeeded)

  bool is_reply() const { return id.has_value(); }
};

// Parses one framed message. Fails on invalid JSON or when it is neither a reply nor an event.
[[nodiscard]] Result<Message> ParseMessage(std::string_view text);

}  // namespace airlock::analyze::cdp
