// ParseSize / ParseDuration / ParseMemoryLimit / ParseCountLimit (declared in policy/profile_loader.h):
// strict, overflow-checked parsers for the human-readable sizes, durations and limits used by profiles
// and the command line; DefaultMemoryLimitBytes (policy.h).
#include <sys/sysinfo.h>

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

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// The host's RAM (MemTotal), read once.
uint64_t HostMemoryBytes() {
  static const uint64_t bytes = [] {
    struct sysinfo si {};
    if (::sysinfo(&si) != 0) return uint64_t{0};
    return static_cast<uint64_t>(si.totalram) * (si.mem_unit ? si.mem_unit : 1);
  }();
  return bytes;
}

// One term of a memory limit: a size, or "N%" of the host's RAM (1 <= N <= 100).
Result<uint64_t> MemoryTerm(const std::string& term) {
  if (term.empty() || term.back() != '%') return ParseSize(term);
  uint64_t percent = 0;
  std::string digits = term.substr(0, term.size() - 1);
  if (ParseDigits(digits, percent) != static_cast<int>(digits.size()) || digits.empty() || percent == 0 || percent > 100) {
    return MakeError("bad percentage '" + term + "' (expected 1% to 100% of the host's RAM)");
  }
  uint64_t ram = HostMemoryBytes();
  if (ram == 0) return MakeError("'" + term + "': the host's RAM is unknown (sysinfo failed); give a size");
  return ram / 100 * percent + ram % 100 * percent / 100;  // floor(ram * percent / 100) without overflow
}

}  // namespace

Result<std::optional<uint64_t>> ParseMemoryLimit(const std::string& text) {
  std::string t = Lower(Trim(text));
  if (t == "unlimited") return std::optional<uint64_t>();
  if (t.size() > 128) return MakeError("memory limit too long: '" + t.substr(0, 64) + "...'");
  if (!t.starts_with("min(")) {
    auto v = MemoryTerm(t);
    if (!v) return std::unexpected(std::move(v.error()));
    return std::optional<uint64_t>(*v);
  }
  if (t.back() != ')') return MakeError("bad memory limit '" + text + "' (expected e.g. 512m, 25%, min(25%, 4g) or unlimited)");
  std::optional<uint64_t> smallest;
  std::string inner = t.substr(4, t.size() - 5);
  for (size_t pos = 0; pos <= inner.size();) {
    size_t comma = inner.find(',', pos);
    if (comma == std::string::npos) comma = inner.size();
    auto v = MemoryTerm(Trim(inner.substr(pos, comma - pos)));
    if (!v) return std::unexpected(std::move(v.error()).WithContext("memory limit '" + text + "'"));
    if (!smallest || *v < *smallest) smallest = *v;
    pos = comma + 1;
  }
  return smallest;
}

Result<std::optional<uint64_t>> ParseCountLimit(const std::string& text) {
  std::string t = Lower(Trim(text));
  if (t == "unlimited") return std::optional<uint64_t>();
  uint64_t value = 0;
  int digits = ParseDigits(t, value);
  if (digits < 0 || (digits > 0 && value > static_cast<uint64_t>(INT64_MAX))) return MakeError("count out of range: '" + text + "'");
  if (digits == 0 || static_cast<size_t>(digits) != t.size()) {
    return MakeError("bad count '" + text + "' (expected a whole number or unlimited)");
  }
  return std::optional<uint64_t>(value);
}

uint64_t DefaultMemoryLimitBytes() {
  static const uint64_t bytes = [] {
    auto v = ParseMemoryLimit(kDefaultMemoryLimit);
    // Only when the RAM is unknown: the cap alone (4 GiB).
    return v && *v ? **v : uint64_t{4} << 30;
  }();
  return bytes;
}

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
