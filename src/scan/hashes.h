// MD5, SHA-1 and SHA-256 of a byte string, lower-case hex (OpenSSL EVP).
#pragma once

#include <string>
#include <string_view>

namespace airlock::scan {

struct Hashes {
  std::string md5, sha1, sha256;
};

Hashes HashAll(std::string_view data);
std::string Sha256Hex(std::string_view data);

}  // namespace airlock::scan
