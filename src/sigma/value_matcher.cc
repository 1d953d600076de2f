#include "sigma/value_matcher.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <charconv>
#include <cstring>

namespace airlock::sigma {
namespace {

inline char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

// Decodes UTF-8 into code points (invalid bytes become U+FFFD) and encodes them as UTF-16.
std::string ToUtf16(std::string_view s, bool little_endian, bool bom) {
  std::string out;
  auto put = [&](unsigned u) {
    char lo = static_cast<char>(u & 0xff), hi = static_cast<char>((u >> 8) & 0xff);
    if (little_endian) {
      out.push_back(lo);
      out.push_back(hi);
    } else {
      out.push_back(hi);
      out.push_back(lo);
    }
  };
  if (bom) put(0xfeff);
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    unsigned cp = 0xfffd;
    size_t len = 1;
    if (c < 0x80) {
      cp = c;
    } else if ((c >> 5) == 0x6 && i + 1 < s.size()) {
      cp = ((c & 0x1fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3fu);
      len = 2;
    } else if ((c >> 4) == 0xe && i + 2 < s.size()) {
      cp = ((c & 0x0fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3fu) << 6) |
           (static_cast<unsigned char>(s[i + 2]) & 0x3fu);
      len = 3;
    } else if ((c >> 3) == 0x1e && i + 3 < s.size()) {
      cp = ((c & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3fu) << 12) |
           ((static_cast<unsigned char>(s[i + 2]) & 0x3fu) << 6) | (static_cast<unsigned char>(s[i + 3]) & 0x3fu);
      len = 4;
    }
    i += len;
    if (cp >= 0x10000 && cp <= 0x10ffff) {
      cp -= 0x10000;
      put(0xd800 + (cp >> 10));
      put(0xdc00 + (cp & 0x3ff));
    } else {
      put(cp);
    }
  }
  return out;
}

// Variants of a command line with Windows-style dashes: a '-' starting a word becomes '/', en dash,
// em dash or horizontal bar (the same replacement in every position of one variant).
std::vector<std::string> WindashVariants(const std::string& s) {
  static constexpr std::string_view kDashes[] = {"/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};
  std::vector<std::string> out{s};
  for (std::string_view dash : kDashes) {
    std::string v;
    for (size_t i = 0; i < s.size(); ++i) {
      bool word_start = i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t';
      if (s[i] == '-' && word_start) {
        v += dash;
      } else {
        v.push_back(s[i]);
      }
    }
    if (v != s) out.push_back(std::move(v));
  }
  return out;
}

bool ParseDouble(std::string_view s, double* out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string Base64Encode(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::vector<std::string> Base64OffsetVariants(std::string_view bytes) {
  // Shift the value by 0, 1, 2 bytes inside a longer stream and keep only the characters that do
  // not depend on the unknown neighbours.
  static constexpr size_t kStart[] = {0, 2, 3};
  static constexpr size_t kEndTrim[] = {0, 3, 2};
  std::vector<std::string> out;
  for (size_t i = 0; i < 3; ++i) {
    std::string shifted(i, ' ');
    shifted += bytes;
    std::string enc = Base64Encode(shifted);
    size_t trim = kEndTrim[(bytes.size() + i) % 3];
    if (enc.size() < kStart[i] + trim) continue;
    out.push_back(enc.substr(kStart[i], enc.size() - kStart[i] - trim));
  }
  return out;
}

bool ScalarText(const nlohmann::json& v, char (&buf)[64], std::string_view* out) {
  switch (v.type()) {
    case nlohmann::json::value_t::string:
      *out = v.get_ref<const std::string&>();
      return true;
    case nlohmann::json::value_t::boolean:
      *out = v.get<bool>() ? "true" : "false";
      return true;
    case nlohmann::json::value_t::number_integer: {
      auto r = std::to_chars(buf, buf + sizeof(buf), v.get<std::int64_t>());
      *out = std::string_view(buf, static_cast<size_t>(r.ptr - buf));
      return true;
    }
    case nlohmann::json::value_t::number_unsigned: {
      auto r = std::to_chars(buf, buf + sizeof(buf), v.get<std::uint64_t>());
      *out = std::string_view(buf, static_cast<size_t>(r.ptr - buf));
      return true;
    }
    case nlohmann::json::value_t::number_float: {
      auto r = std::to_chars(buf, buf + sizeof(buf), v.get<double>());
      *out = std::string_view(buf, static_cast<size_t>(r.ptr - buf));
      return true;
    }
    default:
      return false;
  }
}

Result<ModifierChain> ParseModifiers(const std::vector<std::string_view>& names, bool* all) {
  ModifierChain m;
  *all = false;
  int shape_count = 0;
  for (std::string_view n : names) {
    if (n == "contains") {
      m.contains = true, ++shape_count;
    } else if (n == "startswith") {
      m.startswith = true, ++shape_count;
    } else if (n == "endswith") {
      m.endswith = true, ++shape_count;
    } else if (n == "all") {
      *all = true;
    } else if (n == "re") {
      m.re = true;
    } else if (n == "i" && m.re) {
      m.re_i = true;
    } else if (n == "m" && m.re) {
      m.re_m = true;
    } else if (n == "s" && m.re) {
      m.re_s = true;
    } else if (n == "cidr") {
      m.cidr = true;
    } else if (n == "exists") {
      m.exists = true;
    } else if (n == "windash") {
      m.windash = true;
    } else if (n == "base64") {
      m.base64 = true;
    } else if (n == "base64offset") {
      m.base64offset = true;
    } else if (n == "cased") {
      m.cased = true;
    } else if (n == "wide" || n == "utf16le") {
      m.wide = ModifierChain::Wide::kUtf16le;
    } else if (n == "utf16be") {
      m.wide = ModifierChain::Wide::kUtf16be;
    } else if (n == "utf16") {
      m.wide = ModifierChain::Wide::kUtf16;
    } else if (n == "lt") {
      m.numcmp = ModifierChain::NumCmp::kLt;
    } else if (n == "lte") {
      m.numcmp = ModifierChain::NumCmp::kLte;
    } else if (n == "gt") {
      m.numcmp = ModifierChain::NumCmp::kGt;
    } else if (n == "gte") {
      m.numcmp = ModifierChain::NumCmp::kGte;
    } else if (n == "expand") {
      m.expand = true;
    } else if (n == "fieldref") {
      m.fieldref = true;
    } else {
      return MakeError("unknown modifier '" + std::string(n) + "'");
    }
  }
  if (shape_count > 1) return MakeError("conflicting modifiers: only one of contains/startswith/endswith");
  if (m.base64 && m.base64offset) return MakeError("conflicting modifiers: base64 and base64offset");
  int kinds = m.re + m.cidr + m.exists + (m.numcmp != ModifierChain::NumCmp::kNone) + m.fieldref;
  if (kinds > 1) return MakeError("conflicting modifiers: re/cidr/exists/lt/gt/fieldref are exclusive");
  if (kinds == 1 && (shape_count || m.base64 || m.base64offset || m.windash))
    return MakeError("modifiers re/cidr/exists/lt/gt/fieldref cannot be combined with string transforms");
  if (m.wide != ModifierChain::Wide::kNone && !m.base64 && !m.base64offset)
    return MakeError("wide/utf16 modifiers must be followed by base64 or base64offset");
  return m;
}

ValueMatcher::ValueMatcher() = default;
ValueMatcher::~ValueMatcher() = default;
ValueMatcher::ValueMatcher(ValueMatcher&&) noexcept = default;
ValueMatcher& ValueMatcher::operator=(ValueMatcher&&) noexcept = default;

namespace {

// Splits a Sigma string value into literal characters and wildcards: '*' many, '?' one, '\' escapes
// '*', '?' and '\'; any other backslash is literal.
void ParseWildcards(std::string_view v, bool literal_only, std::string* text, std::string* kinds) {
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (literal_only) {
      text->push_back(c), kinds->push_back('l');
    } else if (c == '\\' && i + 1 < v.size() && (v[i + 1] == '*' || v[i + 1] == '?' || v[i + 1] == '\\')) {
      text->push_back(v[++i]), kinds->push_back('l');
    } else if (c == '*' || c == '?') {
      text->push_back(c), kinds->push_back(c);
    } else {
      text->push_back(c), kinds->push_back('l');
    }
  }
}

}  // namespace

Result<ValueMatcher> CompileValue(const ModifierChain& mods, const RuleScalar& value) {
  ValueMatcher m;
  if (mods.exists) {
    std::string v = LowerAscii(value.text);
    if (v != "true" && v != "false") return MakeError("exists: value must be true or false");
    m.kind_ = ValueMatcher::Kind::kExists;
    m.exists_ = v == "true";
    return m;
  }
  if (value.is_null) {
    m.kind_ = ValueMatcher::Kind::kNull;
    return m;
  }
  if (mods.fieldref) {
    m.kind_ = ValueMatcher::Kind::kFieldRef;
    m.fieldref_ = value.text;
    return m;
  }
  if (mods.numcmp != ModifierChain::NumCmp::kNone) {
    if (!ParseDouble(value.text, &m.number_)) return MakeError("lt/lte/gt/gte: '" + value.text + "' is not a number");
    m.kind_ = ValueMatcher::Kind::kNumCmp;
    m.numcmp_ = mods.numcmp;
    return m;
  }
  if (mods.re) {
    std::string pattern;
    if (mods.re_i || mods.re_m || mods.re_s) {
      pattern = "(?";
      if (mods.re_i) pattern += 'i';
      if (mods.re_m) pattern += 'm';
      if (mods.re_s) pattern += 's';
      pattern += ')';
    }
    pattern += value.text;
    RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_max_mem(8 << 20);
    auto re = std::make_unique<RE2>(pattern, opts);
    if (!re->ok()) return MakeError("invalid regex '" + value.text + "': " + re->error());
    m.kind_ = ValueMatcher::Kind::kRegex;
    m.regex_ = std::move(re);
    return m;
  }
  if (mods.cidr) {
    std::string_view v = value.text;
    size_t slash = v.find('/');
    std::string addr(v.substr(0, slash));
    m.net_family_ = addr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
    if (inet_pton(m.net_family_, addr.c_str(), m.net_) != 1) return MakeError("cidr: bad network '" + value.text + "'");
    int max_prefix = m.net_family_ == AF_INET ? 32 : 128;
    m.net_prefix_ = max_prefix;
    if (slash != std::string_view::npos) {
      std::string_view p = v.substr(slash + 1);
      auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), m.net_prefix_);
      if (ec != std::errc() || end != p.data() + p.size() || m.net_prefix_ < 0 || m.net_prefix_ > max_prefix)
        return MakeError("cidr: bad prefix length in '" + value.text + "'");
    }
    m.kind_ = ValueMatcher::Kind::kCidr;
    return m;
  }

  // String comparison: build the literal variants, then shape them.
  m.kind_ = ValueMatcher::Kind::kString;
  m.cased_ = mods.cased;
  std::vector<std::string> raw;
  bool encoded = mods.base64 || mods.base64offset;
  if (mods.windash) {
    raw = WindashVariants(value.text);
  } else {
    raw.push_back(value.text);
  }
  if (encoded) {
    m.cased_ = true;  // base64 text is case-sensitive
    std::vector<std::string> enc;
    for (const std::string& r : raw) {
      std::string bytes = r;
      if (mods.wide == ModifierChain::Wide::kUtf16le) bytes = ToUtf16(r, true, false);
      if (mods.wide == ModifierChain::Wide::kUtf16be) bytes = ToUtf16(r, false, false);
      if (mods.wide == ModifierChain::Wide::kUtf16) bytes = ToUtf16(r, true, true);
      if (mods.base64) {
        enc.push_back(Base64Encode(bytes));
      } else {
        for (std::string& e : Base64OffsetVariants(bytes)) enc.push_back(std::move(e));
      }
    }
    raw = std::move(enc);
  }
  for (const std::string& r : raw) {
    std::string text, kinds;
    if (mods.contains || mods.endswith) text.push_back('*'), kinds.push_back('*');
    ParseWildcards(r, encoded, &text, &kinds);
    if (mods.contains || mods.startswith) text.push_back('*'), kinds.push_back('*');
    if (!m.cased_) text = LowerAscii(text);
    size_t lead = 0, trail = 0;
    while (lead < kinds.size() && kinds[lead] == '*') ++lead;
    while (trail < kinds.size() - lead && kinds[kinds.size() - 1 - trail] == '*') ++trail;
    std::string_view middle = std::string_view(kinds).substr(lead, kinds.size() - lead - trail);
    ValueMatcher::Pattern p;
    if (middle.find_first_of("*?") != std::string_view::npos) {
      p.shape = ValueMatcher::Shape::kGlob;
      p.text = std::move(text);
      p.glob = std::move(kinds);
    } else {
      p.text = text.substr(lead, text.size() - lead - trail);
      if (lead && trail) {
        p.shape = ValueMatcher::Shape::kContains;
      } else if (lead) {
        p.shape = ValueMatcher::Shape::kSuffix;
      } else if (trail) {
        p.shape = ValueMatcher::Shape::kPrefix;
      } else {
        p.shape = ValueMatcher::Shape::kExact;
      }
    }
    m.variants_.push_back(std::move(p));
  }
  return m;
}

bool ValueMatcher::MatchPattern(const Pattern& p, std::string_view s) const {
  auto eq = [this](char pat, char c) { return cased_ ? pat == c : pat == Lower(c); };
  auto eq_at = [&](size_t pos) {
    for (size_t i = 0; i < p.text.size(); ++i)
      if (!eq(p.text[i], s[pos + i])) return false;
    return true;
  };
  const size_t n = s.size(), m = p.text.size();
  switch (p.shape) {
    case Shape::kExact:
      return n == m && eq_at(0);
    case Shape::kPrefix:
      return n >= m && eq_at(0);
    case Shape::kSuffix:
      return n >= m && eq_at(n - m);
    case Shape::kContains: {
      if (m > n) return false;
      if (m == 0) return true;
      // Cheap first-character filter before the full comparison.
      const char first = p.text[0];
      const char first_upper = (!cased_ && first >= 'a' && first <= 'z') ? static_cast<char>(first - 'a' + 'A') : first;
      for (size_t pos = 0; pos + m <= n; ++pos) {
        if (s[pos] != first && s[pos] != first_upper) continue;
        if (eq_at(pos)) return true;
      }
      return false;
    }
    case Shape::kGlob: {
      size_t pi = 0, si = 0, star = std::string::npos, mark = 0;
      while (si < n) {
        if (pi < m && (p.glob[pi] == '?' || (p.glob[pi] == 'l' && eq(p.text[pi], s[si])))) {
          ++pi, ++si;
        } else if (pi < m && p.glob[pi] == '*') {
          star = pi++;
          mark = si;
        } else if (star != std::string::npos) {
          pi = star + 1;
          si = ++mark;
        } else {
          return false;
        }
      }
      while (pi < m && p.glob[pi] == '*') ++pi;
      return pi == m;
    }
  }
  return false;
}

bool ValueMatcher::MatchString(std::string_view s) const {
  for (const Pattern& p : variants_)
    if (MatchPattern(p, s)) return true;
  return false;
}

namespace {

bool MatchScalar(const nlohmann::json& v, const nlohmann::json& event, auto&& fn) {
  char buf[64];
  std::string_view text;
  if (!ScalarText(v, buf, &text)) return false;
  return fn(v, text, event);
}

}  // namespace

bool ValueMatcher::Matches(const nlohmann::json* value, const nlohmann::json& event) const {
  if (kind_ == Kind::kExists) return (value != nullptr && !value->is_null()) == exists_;
  if (kind_ == Kind::kNull) return value == nullptr || value->is_null();
  if (value == nullptr) return false;
  auto one = [this](const nlohmann::json& v, std::string_view text, const nlohmann::json& ev) -> bool {
    switch (kind_) {
      case Kind::kString:
        return MatchString(text);
      case Kind::kRegex:
        return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *regex_);
      case Kind::kCidr: {
        char addr[64];
        if (text.size() >= sizeof(addr)) return false;
        std::memcpy(addr, text.data(), text.size());
        addr[text.size()] = '\0';
        unsigned char bytes[16];
        if (inet_pton(net_family_, addr, bytes) != 1) return false;
        int full = net_prefix_ / 8, rest = net_prefix_ % 8;
        if (std::memcmp(bytes, net_, static_cast<size_t>(full)) != 0) return false;
        if (rest == 0) return true;
        unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
        return (bytes[full] & mask) == (net_[full] & mask);
      }
      case Kind::kNumCmp: {
        double d = 0;
        if (v.is_number()) {
          d = v.get<double>();
        } else if (!ParseDouble(text, &d)) {
          return false;
        }
        switch (numcmp_) {
          case ModifierChain::NumCmp::kLt: return d < number_;
          case ModifierChain::NumCmp::kLte: return d <= number_;
          case ModifierChain::NumCmp::kGt: return d > number_;
          case ModifierChain::NumCmp::kGte: return d >= number_;
          case ModifierChain::NumCmp::kNone: return false;
        }
        return false;
      }
      case Kind::kFieldRef: {
        if (!ev.is_object()) return false;
        auto it = ev.find(fieldref_);
        if (it == ev.end()) return false;
        char buf2[64];
        std::string_view other;
        return ScalarText(*it, buf2, &other) && other == text;
      }
      default:
        return false;
    }
  };
  if (value->is_array()) {
    for (const auto& e : *value)
      if (MatchScalar(e, event, one)) return true;
    return false;
  }
  return MatchScalar(*value, event, one);
}

}  // namespace airlock::sigma
