// Shared by the JSON writer fuzz targets: cutting the input into strings, and the inverse of
// core/json_text.h's \xNN rule for checking that no byte was lost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace airlock::fuzz {

struct Reader {
  const uint8_t* p;
  size_t n;
  uint8_t Byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  // A string of up to `max` arbitrary bytes.
  std::string Str(size_t max = 64) {
    size_t len = Byte() % (max + 1);
    std::string s;
    while (len-- > 0 && n > 0) s.push_back(static_cast<char>(Byte()));
    return s;
  }
};

// \xNN back to the byte. Exact for text that had no backslash of its own.
inline std::string Unescape(const std::string& s) {
  auto hex = [](char c) { return c >= 'a' ? c - 'a' + 10 : c - '0'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      out += static_cast<char>(hex(s[i + 2]) * 16 + hex(s[i + 3]));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// What a writer must give back for `original`: the same bytes (checked when there is no backslash).
inline bool SameBytes(const std::string& original, const std::string& written) {
  return original.find('\\') != std::string::npos || Unescape(written) == original;
}

}  // namespace airlock::fuzz
