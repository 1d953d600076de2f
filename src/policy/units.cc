// ParseSize / ParseDuration (declared in policy/profile_loader.h): strict, overflow-checked parsers
// for the human-readable sizes and durations used by profiles and the command line.
#include <cctype>
#include <cstdint>
#include <string>

#include "policy/profile_loader.h"

namespace airlock {
namespace {

// Parses the leading decimal digits of `text` into `value`; returns the number of digits consumed
// (0 = none) or -1 on overflow.
int ParseDigits(const std::string& text, uint64_t& value) {
  value = 0;
  size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (__builtin_mul_overflow(value, uint64_t{10}, &value) || __builtin_add_overflow(value, digit, &value)) {
      return -1;
    }
  }
  return static_cast<int>(i);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<uint64_t> ParseSize(const std::string& text) {
  if (text.empty()) return MakeError("empty size");
  if (text.size() > 64) return MakeError("size too long: '" + text.substr(0, 64) + "...'");
  uint64_t value = 0;
  int digits = ParseDigits(text, value);
  if (digits < 0) return MakeError("size out of range: '" + text + "'");
  if (digits == 0) return MakeError("bad size '" + text + "' (expected e.g. 1048576, 512k, 64m, 1g)");
  std::string suffix = Lower(text.substr(static_cast<size_t>(digits)));
  uint64_t multiplier = 1;
  if (suffix.empty() || suffix == "b") {
    multiplier = 1;
  } else {
    char unit = suffix[0];
    std::string rest = suffix.substr(1);
    if (rest != "" && rest != "b" && rest != "ib") {
      return MakeError("bad size suffix in '" + text + "' (use k, m, g or t)");
    }
    switch (unit) {
      case 'k': multiplier = uint64_t{1} << 10; break;
      case 'm': multiplier = uint64_t{1} << 20; break;
      case 'g': multiplier = uint64_t{1} << 30; break;
      case 't': multiplier = uint64_t{1} << 40; break;
      default: return MakeError("bad size suffix in '" + text + "' (use k, m, g or t)");
    }
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(value, multiplier, &bytes)) return MakeError("size out of range: '" + text + "'");
  return bytes;
}

Result<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  if (text.empty()) return MakeError("empty duration");
  if (text.size() > 64) return MakeError("duration too long: '" + text.substr(0, 64) + "...'");
  uint64_t value = 0;
  int digits = ParseDigits(text, value);
  if (digits < 0) return MakeError("duration out of range: '" + text + "'");
  if (digits == 0) return MakeError("bad duration '" + text + "' (expected e.g. 500ms, 30s, 2m, 1h)");
  std::string unit = Lower(text.substr(static_cast<size_t>(digits)));
  uint64_t ms_per_unit = 0;
  if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit.empty() || unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "m") {
    ms_per_unit = 60 * 1000;
  } else if (unit == "h") {
    ms_per_unit = 3600 * 1000;
  } else if (unit == "d") {
    ms_per_unit = 24 * 3600 * 1000;
  } else {
    return MakeError("bad duration unit in '" + text + "' (use ms, s, m, h or d)");
  }
  uint64_t ms = 0;
  // Cap well inside the int64 range of std::chrono::milliseconds.
  if (__builtin_mul_overflow(value, ms_per_unit, &ms) || ms > (uint64_t{1} << 62)) {
    return MakeError("duration out of range: '" + text + "'");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

}  // namespace airlock
