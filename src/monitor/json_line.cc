#include "monitor/json_line.h"

#include <fmt/format.h>

namespace airlock {
namespace {

// The UTF-8 sequence starting at s[i] (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF). Returns its length when it is valid; otherwise sets *invalid and returns the length of
// its longest valid prefix (at least 1): that prefix becomes one U+FFFD and decoding resumes after it
// ("maximal subpart" replacement, as nlohmann::json's error_handler_t::replace does).
size_t Utf8Sequence(std::string_view s, size_t i, bool* invalid) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    *invalid = true;
    return 1;
  }
  size_t k = 1;
  for (; k < need && i + k < s.size(); ++k) {
    const unsigned char x = b(k);
    if (k == 1 ? (x < lo || x > hi) : (x & 0xC0) != 0x80) break;
  }
  *invalid = k < need;
  return k;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the pending run of bytes copied verbatim
  auto flush = [&](size_t i) {
    out.append(s.data() + run, i - run);
  };
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      bool invalid = false;
      const size_t n = Utf8Sequence(s, i, &invalid);
      if (invalid) {
        flush(i);
        out += "\xEF\xBF\xBD";  // U+FFFD
        run = i + n;
      }
      i += n;
      continue;
    }
    flush(i);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
    run = ++i;
  }
  flush(s.size());
  out += '"';
}

JsonLine& JsonLine::Int(std::string_view key, int64_t value) {
  Key(key);
  fmt::format_to(std::back_inserter(out_), "{}", value);
  return *this;
}

}  // namespace airlock
