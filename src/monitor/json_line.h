// A JSON-lines writer for the monitor's hot path: appends one flat object (string and integer
// members) to a caller-owned buffer, without building a DOM and without allocating once the buffer
// has grown. Strings are escaped as RFC 8259 requires; bytes that are not valid UTF-8 become U+FFFD
// (the same policy as nlohmann::json's error_handler_t::replace), so every line is valid JSON.
//
// Contract: the caller writes each key once; keys are trusted literals (not escaped).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace airlock {

// Appends `s` as a quoted JSON string.
void AppendJsonString(std::string& out, std::string_view s);

class JsonLine {
 public:
  // Clears `out` and starts an object in it.
  explicit JsonLine(std::string& out) : out_(out) {
    out_.clear();
    out_ += '{';
  }
  JsonLine& Str(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(out_, value);
    return *this;
  }
  JsonLine& Int(std::string_view key, int64_t value);
  // Closes the object (no trailing newline) and returns the buffer.
  std::string& Finish() {
    out_ += '}';
    return out_;
  }

 private:
  void Key(std::string_view key) {
    if (out_.size() > 1) out_ += ',';
    out_ += '"';
    out_ += key;
    out_ += "\":";
  }
  std::string& out_;
};

}  // namespace airlock
