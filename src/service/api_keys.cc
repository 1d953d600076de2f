#include "service/api_keys.h"

#include "service/digest.h"

namespace airlock::service {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool ValidName(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '@')) return false;
  }
  return true;
}

}  // namespace

const char* RoleName(Role r) {
  switch (r) {
    case Role::kRead: return "read";
    case Role::kSubmit: return "submit";
    case Role::kAdmin: return "admin";
  }
  return "read";
}

std::optional<Role> ParseRole(std::string_view s) {
  for (Role r : {Role::kRead, Role::kSubmit, Role::kAdmin}) {
    if (s == RoleName(r)) return r;
  }
  return std::nullopt;
}

std::string NewApiKey() { return "alk_" + RandomHex(32); }
std::string HashApiKey(std::string_view key) { return Sha256Hex(key); }
std::string KeyLine(Role role, const std::string& name, std::string_view key) {
  return std::string(RoleName(role)) + " " + name + " " + HashApiKey(key) + "\n";
}

Result<KeyRing> KeyRing::Parse(std::string_view text) {
  KeyRing ring;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    std::string_view parts[3];
    int n = 0;
    while (!line.empty() && n < 4) {
      size_t sp = line.find_first_of(" \t");
      if (n == 3) return MakeError("key file line " + std::to_string(line_no) + ": more than three fields");
      parts[n++] = line.substr(0, sp);
      line = sp == std::string_view::npos ? std::string_view() : Trim(line.substr(sp));
    }
    auto role = n == 3 ? ParseRole(parts[0]) : std::nullopt;
    if (!role || !ValidName(parts[1]) || !IsSha256Hex(parts[2])) {
      return MakeError("key file line " + std::to_string(line_no) +
                       ": expected \"<read|submit|admin> <name> <sha256-hex>\" (make one with `airlock serve --new-key NAME`)");
    }
    ring.by_hash_[std::string(parts[2])] = ApiKey{std::string(parts[1]), *role};
  }
  return ring;
}

std::optional<ApiKey> KeyRing::Find(std::string_view presented) const {
  if (presented.empty() || presented.size() > 256) return std::nullopt;
  auto it = by_hash_.find(HashApiKey(presented));
  if (it == by_hash_.end()) return std::nullopt;
  return it->second;
}

std::string PresentedKey(std::string_view authorization, std::string_view x_api_key) {
  if (!x_api_key.empty()) return std::string(Trim(x_api_key));
  authorization = Trim(authorization);
  for (std::string_view scheme : {"Bearer ", "Token ", "bearer ", "token "}) {
    if (authorization.starts_with(scheme)) return std::string(Trim(authorization.substr(scheme.size())));
  }
  return "";
}

}  // namespace airlock::service
