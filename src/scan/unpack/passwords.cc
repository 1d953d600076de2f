#include "scan/unpack/passwords.h"

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

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

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

}  // namespace

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
      std::string lower = Lower(tokens[i]);
      // "password:abc" / "code=1234" written without a space.
      size_t colon = lower.find_first_of(":=");
      if (colon != std::string::npos && colon + 1 < lower.size() && IsCue(lower.substr(0, colon))) {
        auto v = Trim(tokens[i].substr(colon + 1));
        if (!v.empty() && v.size() <= kMaxTokenLen) cued.emplace_back(v);
      }
      if (IsCue(lower)) {
        // The next one or two tokens: "password: x", "password is x", "code = x".
        for (size_t k = i + 1; k < tokens.size() && k <= i + 2; ++k) {
          std::string lk = Lower(tokens[k]);
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
