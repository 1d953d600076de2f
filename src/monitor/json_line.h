// A JSON-lines writer for the monitor's hot path: appends one flat object (string and integer
// members) to a caller-owned buffer, without building a DOM and without allocating once the buffer
// has grown. Strings are written by core/json_text.h's AppendJsonString: RFC 8259 escapes, bytes that
// are not valid UTF-8 as the text `\xNN` (the rule of every airlock JSON writer), so every line is
// valid JSON and nothing the sandbox named is lost.
//
// Contract: the caller writes each key once; keys are trusted literals (not escaped).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/json_text.h"

namespace airlock {

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
