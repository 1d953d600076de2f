#include "scan/hashes.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>

namespace airlock::scan {
namespace {

struct CtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct MdDeleter {
  void operator()(EVP_MD* m) const { EVP_MD_free(m); }
};
using Ctx = std::unique_ptr<EVP_MD_CTX, CtxDeleter>;
using Md = std::unique_ptr<EVP_MD, MdDeleter>;

std::string Hex(const unsigned char* p, unsigned n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s(n * 2, '\0');
  for (unsigned i = 0; i < n; ++i) {
    s[2 * i] = kDigits[p[i] >> 4];
    s[2 * i + 1] = kDigits[p[i] & 15];
  }
  return s;
}

// Per thread: the three digests fetched from the provider once (EVP_md5() etc. would look them up
// again on every init) and three reusable contexts. OpenSSL picks the SHA-NI/AVX2 code itself.
struct Hashers {
  Md md[3];
  Ctx ctx[3];
  bool ok = true;
  Hashers() {
    const char* names[3] = {"MD5", "SHA1", "SHA256"};
    for (int i = 0; i < 3; ++i) {
      md[i].reset(EVP_MD_fetch(nullptr, names[i], nullptr));
      ctx[i].reset(EVP_MD_CTX_new());
      ok = ok && md[i] && ctx[i];
    }
  }
};

Hashers& ThreadHashers() {
  thread_local Hashers h;
  return h;
}

}  // namespace

Hashes HashAll(std::string_view data) {
  Hashers& hs = ThreadHashers();
  Hashes h;
  if (!hs.ok) return h;
  for (int i = 0; i < 3; ++i) {
    if (EVP_DigestInit_ex2(hs.ctx[i].get(), hs.md[i].get(), nullptr) != 1) return h;
  }
  // One pass over the data in cache-sized chunks, three digests.
  constexpr size_t kChunk = 1 << 16;
  for (size_t off = 0; off < data.size(); off += kChunk) {
    size_t n = std::min(kChunk, data.size() - off);
    for (auto& c : hs.ctx) EVP_DigestUpdate(c.get(), data.data() + off, n);
  }
  std::string out[3];
  for (int i = 0; i < 3; ++i) {
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_DigestFinal_ex(hs.ctx[i].get(), buf, &n) == 1) out[i] = Hex(buf, n);
  }
  h.md5 = std::move(out[0]);
  h.sha1 = std::move(out[1]);
  h.sha256 = std::move(out[2]);
  return h;
}

std::string Sha256Hex(std::string_view data) {
  Hashers& hs = ThreadHashers();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (!hs.ok || EVP_Digest(data.data(), data.size(), out, &n, hs.md[2].get(), nullptr) != 1) return {};
  return Hex(out, n);
}

}  // namespace airlock::scan
