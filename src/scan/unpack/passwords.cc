#include "scan/unpack/passwords.h"
#include "core/ascii.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

namespace airlock::scan {
namespace {

constexpr size_t kMaxTokenLen = 64;
constexpr size_t kMaxShortToken = 16;
constexpr size_t kMaxTextScanned = 256 * 1024;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

// Strips quotes and trailing punctuation that surround a password in prose: "pw: 'abc123'." -> abc123
std::string_view Trim(std::string_view t) {
  auto strip = [](char c) {
    return c == '"' || c == '\'' || c == '`' || c == '(' || c == ')' || c == '[' || c == ']' || c == '<' ||
           c == '>' || c == ',' || c == '.' || c == ';' || c == ':' || c == '!' || c == '?' || c == '*';
  };
  while (!t.empty() && strip(t.front())) t.remove_prefix(1);
  while (!t.empty() && strip(t.back())) t.remove_suffix(1);
  return t;
}

bool IsCue(std::string_view lower_token) {
  static constexpr std::array<std::string_view, 10> kCues = {
      "password", "passwort", "pw", "pwd", "pass", "code", "kennwort", "passe", "passcode", "contraseña"};
  std::string_view t = lower_token;
  while (!t.empty() && (t.back() == ':' || t.back() == '=' || t.back() == '-')) t.remove_suffix(1);
  return std::find(kCues.begin(), kCues.end(), t) != kCues.end();
}

std::vector<std::string_view> Tokens(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !IsSpace(text[i])) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

// The comment of a zip (end of central directory record).
std::string ZipComment(std::string_view d) {
  if (!d.starts_with("PK") || d.size() < 22) return {};
  const size_t from = d.size() > 65557 ? d.size() - 65557 : 0;
  const size_t eocd = d.rfind(std::string_view("PK\x05\x06", 4));
  if (eocd == std::string_view::npos || eocd < from || eocd + 22 > d.size()) return {};
  const size_t len = static_cast<uint8_t>(d[eocd + 20]) | static_cast<size_t>(static_cast<uint8_t>(d[eocd + 21])) << 8;
  return std::string(d.substr(eocd + 22, std::min(len, d.size() - eocd - 22)));
}

// The Subject header of a mail (unfolded, undecoded), from its header block.
std::string MailSubject(std::string_view d) {
  d = d.substr(0, 64 * 1024);
  const size_t end = d.find("\n\n") != std::string_view::npos ? d.find("\n\n") : d.find("\r\n\r\n");
  if (end != std::string_view::npos) d = d.substr(0, end);
  size_t pos = 0;
  while (pos < d.size()) {
    size_t eol = d.find('\n', pos);
    if (eol == std::string_view::npos) eol = d.size();
    std::string_view line = d.substr(pos, eol - pos);
    if (line.size() >= 8 && AsciiLower(line.substr(0, 8)) == "subject:") {
      std::string subject(line.substr(8));
      // Folded continuation lines start with white space.
      while (eol + 1 < d.size() && (d[eol + 1] == ' ' || d[eol + 1] == '\t')) {
        size_t next = d.find('\n', eol + 1);
        if (next == std::string_view::npos) next = d.size();
        subject += d.substr(eol + 1, next - eol - 1);
        eol = next;
      }
      return subject;
    }
    pos = eol + 1;
  }
  return {};
}

}  // namespace

std::string NameAsText(std::string_view name) {
  const size_t slash = name.find_last_of("/\\");
  std::string leaf(slash == std::string_view::npos ? name : name.substr(slash + 1));
  const size_t dot = leaf.rfind('.');
  if (dot != std::string::npos && dot > 0 && leaf.size() - dot <= 6) leaf.resize(dot);
  for (auto& c : leaf) {
    if (c == '_' || c == '-' || c == '.' || c == '(' || c == ')' || c == '[' || c == ']' || c == '+') c = ' ';
  }
  return leaf;
}

std::vector<std::string> NearbyText(const Object& object) {
  std::vector<std::string> out = object.context_text;
  for (const Object* o = &object; o != nullptr; o = o->parent) {
    out.push_back(NameAsText(o->name));
    if (o == &object) continue;
    if (std::string c = ZipComment(o->data); !c.empty()) out.push_back(std::move(c));
    if (o->mime == "message/rfc822") {
      if (std::string s = MailSubject(o->data); !s.empty()) out.push_back(std::move(s));
    }
  }
  return out;
}

const std::vector<std::string>& DefaultPasswords() {
  static const std::vector<std::string> kDefaults = {"infected", "infected-test", "virus", "malware",
                                                     "password", "1234", "12345"};
  return kDefaults;
}

bool IsDefaultPassword(std::string_view pw) {
  const auto& d = DefaultPasswords();
  return std::find(d.begin(), d.end(), pw) != d.end();
}

std::vector<std::string> PasswordCandidates(const std::vector<std::string>& context_text, size_t max_candidates) {
  std::vector<std::string> cued, others;
  for (const auto& text : context_text) {
    auto tokens = Tokens(std::string_view(text).substr(0, kMaxTextScanned));
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string lower = AsciiLower(tokens[i]);
      // "password:abc" / "code=1234" written without a space.
      size_t colon = lower.find_first_of(":=");
      if (colon != std::string::npos && colon + 1 < lower.size() && IsCue(lower.substr(0, colon))) {
        auto v = Trim(tokens[i].substr(colon + 1));
        if (!v.empty() && v.size() <= kMaxTokenLen) cued.emplace_back(v);
      }
      if (IsCue(lower)) {
        // The next one or two tokens: "password: x", "password is x", "code = x".
        for (size_t k = i + 1; k < tokens.size() && k <= i + 2; ++k) {
          std::string lk = AsciiLower(tokens[k]);
          if (lk == "is" || lk == "ist" || lk == ":" || lk == "=" || lk == "-" || lk == "est") continue;
          auto v = Trim(tokens[k]);
          if (!v.empty() && v.size() <= kMaxTokenLen) cued.emplace_back(v);
          break;
        }
      }
      auto t = Trim(tokens[i]);
      if (!t.empty() && t.size() <= kMaxShortToken) others.emplace_back(t);
    }
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& s) {
    if (out.size() < max_candidates && seen.insert(s).second) out.push_back(s);
  };
  for (const auto& s : cued) add(s);
  for (const auto& s : DefaultPasswords()) add(s);
  for (const auto& s : others) add(s);
  return out;
}

}  // namespace airlock::scan
