#include "core/json_text.h"

#include <nlohmann/json.hpp>

#include <utility>
#include <vector>

namespace airlock {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// The length of the valid UTF-8 sequence starting at s[i] (s[i] >= 0x80), or 0 when the byte there
// does not start one (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
size_t Utf8SequenceAt(std::string_view s, size_t i) {
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
    return 0;
  }
  if (i + need > s.size()) return 0;
  for (size_t k = 1; k < need; ++k) {
    const unsigned char x = b(k);
    if (k == 1 ? (x < lo || x > hi) : (x & 0xC0) != 0x80) return 0;
  }
  return need;
}

// Walks `bytes`, calling plain(i, n) for each run of valid text and bad(byte) for each invalid byte.
template <class Plain, class Bad>
void ForEachPiece(std::string_view bytes, Plain plain, Bad bad) {
  size_t run = 0;
  for (size_t i = 0; i < bytes.size();) {
    if (static_cast<unsigned char>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceAt(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (i > run) plain(run, i - run);
    bad(static_cast<unsigned char>(bytes[i]));
    run = ++i;
  }
  if (bytes.size() > run) plain(run, bytes.size() - run);
}

void AppendByteEscape(std::string& out, unsigned char c, bool json) {
  out += json ? "\\\\x" : "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// Valid UTF-8 with RFC 8259 escapes, appended (no quotes).
void AppendJsonEscaped(std::string& out, std::string_view text) {
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
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
  }
  out.append(text.data() + run, text.size() - run);
}

template <class J>
void MakeUtf8(J& j) {
  if (j.is_string()) {
    auto& s = j.template get_ref<typename J::string_t&>();
    if (!IsUtf8(s)) s = Utf8Text(s);
  } else if (j.is_array()) {
    for (auto& x : j) MakeUtf8(x);
  } else if (j.is_object()) {
    std::vector<std::string> bad_keys;
    for (auto it = j.begin(); it != j.end(); ++it) {
      MakeUtf8(it.value());
      if (!IsUtf8(it.key())) bad_keys.push_back(it.key());
    }
    for (const auto& k : bad_keys) {
      J value = std::move(j[k]);
      j.erase(k);
      j[Utf8Text(k)] = std::move(value);
    }
  }
}

template <class J>
std::string Dump(const J& j, int indent) noexcept {
  try {
    return j.dump(indent);  // strict: throws type_error 316 on invalid UTF-8
  } catch (const typename J::type_error&) {
    // below: the same document with every string made valid UTF-8
  } catch (...) {
    return "null";
  }
  try {
    J copy = j;
    MakeUtf8(copy);
    return copy.dump(indent, ' ', false, J::error_handler_t::replace);
  } catch (...) {
    return "null";
  }
}

}  // namespace

bool IsUtf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    if (static_cast<unsigned char>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceAt(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void AppendUtf8Text(std::string& out, std::string_view bytes) {
  ForEachPiece(
      bytes, [&](size_t at, size_t n) { out.append(bytes.data() + at, n); },
      [&](unsigned char c) { AppendByteEscape(out, c, /*json=*/false); });
}

std::string Utf8Text(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  AppendUtf8Text(out, bytes);
  return out;
}

void AppendJsonString(std::string& out, std::string_view bytes) {
  out += '"';
  ForEachPiece(
      bytes, [&](size_t at, size_t n) { AppendJsonEscaped(out, bytes.substr(at, n)); },
      [&](unsigned char c) { AppendByteEscape(out, c, /*json=*/true); });
  out += '"';
}

void MakeJsonUtf8(nlohmann::json& j) { MakeUtf8(j); }
void MakeJsonUtf8(nlohmann::ordered_json& j) { MakeUtf8(j); }

std::string DumpJson(const nlohmann::json& j, int indent) noexcept { return Dump(j, indent); }
std::string DumpJson(const nlohmann::ordered_json& j, int indent) noexcept { return Dump(j, indent); }

}  // namespace airlock
