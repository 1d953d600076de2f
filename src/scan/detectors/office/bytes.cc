#include "scan/detectors/office/bytes.h"

#include <cctype>

namespace airlock::scan::office {

std::optional<uint16_t> ReadLe16(std::string_view data, size_t pos) {
  if (pos > data.size() || data.size() - pos < 2) return std::nullopt;
  auto b = [&](size_t i) { return static_cast<uint16_t>(static_cast<unsigned char>(data[pos + i])); };
  return static_cast<uint16_t>(b(0) | (b(1) << 8));
}

std::optional<uint32_t> ReadLe32(std::string_view data, size_t pos) {
  if (pos > data.size() || data.size() - pos < 4) return std::nullopt;
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(data[pos + i])); };
  return b(0) | (b(1) << 8) | (b(2) << 16) | (b(3) << 24);
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string Utf16LeToUtf8(std::string_view data) {
  std::string out;
  out.reserve(data.size() / 2);
  for (size_t i = 0; i + 1 < data.size(); i += 2) {
    uint32_t u = *ReadLe16(data, i);
    if (u >= 0xD800 && u <= 0xDBFF && i + 3 < data.size()) {
      uint32_t lo = *ReadLe16(data, i + 2);
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        AppendUtf8(out, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
        i += 2;
        continue;
      }
    }
    if (u >= 0xD800 && u <= 0xDFFF) u = 0xFFFD;
    AppendUtf8(out, u);
  }
  return out;
}

std::string Latin1ToUtf8(std::string_view data) {
  std::string out;
  out.reserve(data.size());
  for (unsigned char c : data) AppendUtf8(out, c);
  return out;
}

std::string ToLowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t FindIcase(std::string_view haystack, std::string_view needle, size_t from) {
  if (needle.empty()) return from <= haystack.size() ? from : std::string_view::npos;
  if (haystack.size() < needle.size()) return std::string_view::npos;
  auto low = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  const char first = low(needle[0]);
  for (size_t i = from; i + needle.size() <= haystack.size(); ++i) {
    if (low(haystack[i]) != first) continue;
    size_t j = 1;
    while (j < needle.size() && low(haystack[i + j]) == low(needle[j])) ++j;
    if (j == needle.size()) return i;
  }
  return std::string_view::npos;
}

bool ContainsIcase(std::string_view haystack, std::string_view needle) {
  return FindIcase(haystack, needle) != std::string_view::npos;
}

bool StartsWithIcase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && FindIcase(s.substr(0, prefix.size()), prefix) == 0;
}

bool EndsWithIcase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && FindIcase(s.substr(s.size() - suffix.size()), suffix) == 0;
}

std::string_view Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string CollapseSpaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending = false;
  for (char c : Trim(s)) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
      pending = true;
      continue;
    }
    if (pending) out.push_back(' ');
    pending = false;
    out.push_back(c);
  }
  return out;
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.find_last_of("/\\");
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace airlock::scan::office
