// API keys of the analysis service (docs/SERVICE.md "Authentication").
//
// Contract:
//  - A key is "alk_" + 64 hex digits from getrandom (256 bits). Only its SHA-256 is stored: the key
//    file holds one line per key, "<role> <name> <sha256-hex>" ('#' starts a comment). A plain
//    SHA-256 suffices because keys are random (nothing to guess by dictionary); it is what lets the
//    server look a key up without keeping it.
//  - Roles are ordered: read < submit < admin; a request needs at least the role of its endpoint.
//  - Parsing refuses a malformed line with its number (a typo must not drop a key silently).
//  - KeyRing is immutable after construction: safe to share between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace airlock::service {

enum class Role { kRead = 0, kSubmit = 1, kAdmin = 2 };
const char* RoleName(Role r);
std::optional<Role> ParseRole(std::string_view s);

struct ApiKey {
  std::string name;
  Role role = Role::kRead;
};

std::string NewApiKey();                           // "alk_" + 64 hex
std::string HashApiKey(std::string_view key);      // SHA-256 hex of the key's bytes
std::string KeyLine(Role role, const std::string& name, std::string_view key);  // the key file's line

class KeyRing {
 public:
  // The key file's text (see above).
  static Result<KeyRing> Parse(std::string_view text);
  void Add(const std::string& hash, ApiKey key) { by_hash_[hash] = std::move(key); }
  // The key presented by a client, or nullopt (unknown or empty).
  std::optional<ApiKey> Find(std::string_view presented) const;
  size_t size() const { return by_hash_.size(); }

 private:
  std::map<std::string, ApiKey, std::less<>> by_hash_;
};

// The key a request carries: "Authorization: Bearer K", CAPE's "Authorization: Token K", or
// "X-API-Key: K"; "" when none.
std::string PresentedKey(std::string_view authorization, std::string_view x_api_key);

}  // namespace airlock::service
