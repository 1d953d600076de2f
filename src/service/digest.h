// Hashes and identifiers of the analysis service (docs/SERVICE.md): SHA-256 over bytes (OpenSSL EVP),
// base64url as the NATS Object Store spells names and digests, and random identifiers from the
// kernel's CSPRNG (getrandom). Pure apart from getrandom; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace airlock::service {

// The SHA-256 of `bytes`: 32 raw bytes, or 64 lower-case hex digits.
std::string Sha256Raw(std::string_view bytes);
std::string Sha256Hex(std::string_view bytes);

// Incremental SHA-256 (for files and chunked uploads).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view bytes);
  std::string FinishRaw();  // once

 private:
  void* ctx_;
};

std::string ToHex(std::string_view raw);
// RFC 4648 base64url, with '=' padding (Go's base64.URLEncoding, which the Object Store layout uses).
std::string Base64Url(std::string_view bytes);

// `n_bytes` random bytes from getrandom(2), as 2*n_bytes hex digits. Never fails silently: aborts the
// process if the kernel's generator is unavailable (API keys and object ids must never be guessable).
std::string RandomHex(size_t n_bytes);

// True when `s` is exactly 64 lower-case hex digits (a SHA-256 as the API accepts it).
bool IsSha256Hex(std::string_view s);

}  // namespace airlock::service
