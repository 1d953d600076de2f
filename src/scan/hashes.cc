#include "scan/hashes.h"

#include <openssl/evp.h>

#include <memory>

namespace airlock::scan {
namespace {

struct CtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_MD_CTX, CtxDeleter>;

std::string Hex(const unsigned char* p, unsigned n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(n * 2);
  for (unsigned i = 0; i < n; ++i) {
    s.push_back(kDigits[p[i] >> 4]);
    s.push_back(kDigits[p[i] & 15]);
  }
  return s;
}

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (EVP_Digest(data.data(), data.size(), out, &n, md, nullptr) != 1) return {};
  return Hex(out, n);
}

}  // namespace

Hashes HashAll(std::string_view data) {
  const EVP_MD* mds[3] = {EVP_md5(), EVP_sha1(), EVP_sha256()};
  Ctx ctx[3];
  bool ok = true;
  for (int i = 0; i < 3; ++i) {
    ctx[i].reset(EVP_MD_CTX_new());
    ok = ok && ctx[i] && EVP_DigestInit_ex(ctx[i].get(), mds[i], nullptr) == 1;
  }
  Hashes h;
  if (!ok) return h;
  // One pass over the data in cache-sized chunks, three digests.
  constexpr size_t kChunk = 1 << 16;
  for (size_t off = 0; off < data.size(); off += kChunk) {
    size_t n = std::min(kChunk, data.size() - off);
    for (auto& c : ctx) EVP_DigestUpdate(c.get(), data.data() + off, n);
  }
  std::string out[3];
  for (int i = 0; i < 3; ++i) {
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_DigestFinal_ex(ctx[i].get(), buf, &n) == 1) out[i] = Hex(buf, n);
  }
  h.md5 = std::move(out[0]);
  h.sha1 = std::move(out[1]);
  h.sha256 = std::move(out[2]);
  return h;
}

std::string Sha256Hex(std::string_view data) { return Digest(EVP_sha256(), data); }

}  // namespace airlock::scan
