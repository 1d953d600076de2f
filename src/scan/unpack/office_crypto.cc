#include "scan/unpack/office_crypto.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <memory>

#include "scan/detectors/office/bytes.h"
#include "scan/detectors/office/xml_lite.h"

namespace airlock::scan::office_crypto {
namespace {

using office::ReadLe16;
using office::ReadLe32;

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

const EVP_MD* Digest(std::string_view name) {
  if (name == "SHA1" || name == "SHA-1") return EVP_sha1();
  if (name == "SHA256") return EVP_sha256();
  if (name == "SHA384") return EVP_sha384();
  if (name == "SHA512") return EVP_sha512();
  if (name == "MD5") return EVP_md5();
  return nullptr;
}

// Hashes the concatenation of the parts.
std::string Hash(const EVP_MD* md, std::initializer_list<std::string_view> parts) {
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) return {};
  for (auto p : parts) EVP_DigestUpdate(ctx.get(), p.data(), p.size());
  if (EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1) return {};
  out.resize(len);
  return out;
}

std::string Le32Bytes(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

// H0 = H(salt + password); Hn = H(iterator + Hn-1), `spin` times (reusing one context).
std::string SpinHash(const EVP_MD* md, std::string_view salt, std::string_view password16, uint32_t spin) {
  std::string h = Hash(md, {salt, password16});
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx || h.empty()) return {};
  unsigned len = 0;
  for (uint32_t i = 0; i < spin; ++i) {
    const std::string it = Le32Bytes(i);
    EVP_DigestInit_ex(ctx.get(), md, nullptr);
    EVP_DigestUpdate(ctx.get(), it.data(), 4);
    EVP_DigestUpdate(ctx.get(), h.data(), h.size());
    EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(h.data()), &len);
  }
  return h;
}

const EVP_CIPHER* Aes(size_t key_bytes, bool cbc) {
  switch (key_bytes) {
    case 16: return cbc ? EVP_aes_128_cbc() : EVP_aes_128_ecb();
    case 24: return cbc ? EVP_aes_192_cbc() : EVP_aes_192_ecb();
    case 32: return cbc ? EVP_aes_256_cbc() : EVP_aes_256_ecb();
    default: return nullptr;
  }
}

// AES decryption without padding; the input is cut to whole blocks.
std::optional<std::string> AesDecrypt(std::string_view key, std::string_view iv, std::string_view in, bool cbc) {
  const EVP_CIPHER* cipher = Aes(key.size(), cbc);
  std::unique_ptr<EVP_CIPHER_CTX, CtxFree> ctx(EVP_CIPHER_CTX_new());
  if (cipher == nullptr || !ctx) return std::nullopt;
  in = in.substr(0, in.size() / 16 * 16);
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  const auto* v = cbc ? reinterpret_cast<const unsigned char*>(iv.data()) : nullptr;
  if (EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, k, v) != 1) return std::nullopt;
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  std::string out(in.size() + 16, '\0');
  int len = 0, fin = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_DecryptUpdate(ctx.get(), o, &len, reinterpret_cast<const unsigned char*>(in.data()),
                        static_cast<int>(in.size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + len, &fin) != 1) {
    return std::nullopt;
  }
  out.resize(static_cast<size_t>(len + fin));
  return out;
}

// Cuts or pads (with `pad`) to `n` bytes.
std::string Fit(std::string s, size_t n, char pad) {
  s.resize(n, pad);
  return s;
}

// RC4 (KSA + PRGA); `key` 1..256 bytes.
class Rc4 {
 public:
  explicit Rc4(std::string_view key) {
    if (key.empty()) key = std::string_view("\0", 1);  // a failed digest must not divide by zero
    for (int i = 0; i < 256; ++i) s_[i] = static_cast<uint8_t>(i);
    uint8_t j = 0;
    for (int i = 0; i < 256; ++i) {
      j = static_cast<uint8_t>(j + s_[i] + static_cast<uint8_t>(key[i % key.size()]));
      std::swap(s_[i], s_[j]);
    }
  }
  uint8_t Next() {
    i_ = static_cast<uint8_t>(i_ + 1);
    j_ = static_cast<uint8_t>(j_ + s_[i_]);
    std::swap(s_[i_], s_[j_]);
    return s_[static_cast<uint8_t>(s_[i_] + s_[j_])];
  }
  std::string Apply(std::string_view in) {
    std::string out(in);
    for (auto& c : out) c = static_cast<char>(static_cast<uint8_t>(c) ^ Next());
    return out;
  }

 private:
  std::array<uint8_t, 256> s_{};
  uint8_t i_ = 0, j_ = 0;
};

// The RC4 key of stream block `block` (2.3.5.2 CryptoAPI, 2.3.6.2 plain RC4).
std::string Rc4BlockKey(const Rc4Encryption& enc, std::string_view base, uint32_t block) {
  if (enc.cryptoapi) {
    std::string h = Hash(EVP_sha1(), {base, Le32Bytes(block)});
    const size_t n = enc.key_bits / 8;
    h.resize(n);
    if (enc.key_bits == 40) h.resize(16, '\0');  // 40-bit keys are used as 128 bits, zero-padded
    return h;
  }
  return Hash(EVP_md5(), {base.substr(0, 5), Le32Bytes(block)});
}

std::optional<uint32_t> AttrU32(std::string_view attrs, std::string_view name) {
  auto v = office::XmlAttr(attrs, name);
  if (!v || v->empty() || v->size() > 10) return std::nullopt;
  uint64_t n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(n);
}

std::string AttrB64(std::string_view attrs, std::string_view name) {
  auto v = office::XmlAttr(attrs, name);
  return v ? office::Base64Decode(*v, 4096) : std::string();
}

Result<PackageEncryption> ParseAgile(std::string_view xml) {
  PackageEncryption e;
  e.kind = PackageEncryption::Kind::kAgile;
  bool key_data = false, password = false;
  office::XmlLite lex(xml);
  office::XmlToken t;
  while (lex.Next(t)) {
    if (t.kind == office::XmlToken::Kind::kEnd || t.kind == office::XmlToken::Kind::kText) continue;
    if (t.name == "keyData" && !key_data) {
      e.hash_name = office::XmlAttr(t.attrs, "hashAlgorithm").value_or("");
      e.key_bits = AttrU32(t.attrs, "keyBits").value_or(0);
      e.block_size = AttrU32(t.attrs, "blockSize").value_or(0);
      e.key_data_salt = AttrB64(t.attrs, "saltValue");
      key_data = true;
    } else if (t.name == "encryptedKey" && office::XmlAttr(t.attrs, "encryptedKeyValue") && !password) {
      e.password_hash_name = office::XmlAttr(t.attrs, "hashAlgorithm").value_or("");
      e.password_key_bits = AttrU32(t.attrs, "keyBits").value_or(0);
      e.password_block_size = AttrU32(t.attrs, "blockSize").value_or(0);
      e.spin_count = AttrU32(t.attrs, "spinCount").value_or(UINT32_MAX);
      e.password_salt = AttrB64(t.attrs, "saltValue");
      e.encrypted_verifier_input = AttrB64(t.attrs, "encryptedVerifierHashInput");
      e.encrypted_verifier_hash = AttrB64(t.attrs, "encryptedVerifierHashValue");
      e.encrypted_key = AttrB64(t.attrs, "encryptedKeyValue");
      password = true;
    }
  }
  if (!key_data || !password) return std::unexpected(Error("agile EncryptionInfo lacks keyData or a password key"));
  if (!Digest(e.hash_name) || !Digest(e.password_hash_name)) {
    return std::unexpected(Error("unsupported hash algorithm " + e.hash_name + "/" + e.password_hash_name));
  }
  if (!Aes(e.key_bits / 8, true) || !Aes(e.password_key_bits / 8, true) || e.block_size != 16 ||
      e.password_block_size != 16) {
    return std::unexpected(Error("unsupported cipher (AES-128/192/256 CBC expected)"));
  }
  if (e.spin_count > kMaxSpinCount) {
    return std::unexpected(Error("spin count " + std::to_string(e.spin_count) + " is above the limit"));
  }
  if (e.key_data_salt.empty() || e.password_salt.empty() || e.encrypted_key.empty()) {
    return std::unexpected(Error("agile EncryptionInfo lacks salts or the encrypted key"));
  }
  return e;
}

// EncryptionHeader + EncryptionVerifier (2.3.2, 2.3.3) after the u32 header size at `pos`.
struct CryptoApiHeader {
  uint32_t alg_id = 0, alg_hash = 0, key_bits = 0;
  std::string salt, verifier, verifier_hash;
  size_t end = 0;
};

Result<CryptoApiHeader> ParseCryptoApiHeader(std::string_view d, size_t pos, size_t hash_len) {
  auto header_size = ReadLe32(d, pos);
  if (!header_size || *header_size < 32 || *header_size > 4096 || pos + 4 + *header_size > d.size()) {
    return std::unexpected(Error("bad EncryptionHeader size"));
  }
  const size_t h = pos + 4;
  CryptoApiHeader out;
  out.alg_id = *ReadLe32(d, h + 8);
  out.alg_hash = *ReadLe32(d, h + 12);
  out.key_bits = *ReadLe32(d, h + 16);
  size_t v = h + *header_size;
  auto salt_size = ReadLe32(d, v);
  if (!salt_size || *salt_size != 16 || v + 4 + 16 + 16 + 4 > d.size()) {
    return std::unexpected(Error("bad EncryptionVerifier"));
  }
  out.salt = std::string(d.substr(v + 4, 16));
  out.verifier = std::string(d.substr(v + 20, 16));
  const size_t hv = v + 40;
  if (hv + hash_len > d.size()) return std::unexpected(Error("truncated EncryptionVerifier"));
  out.verifier_hash = std::string(d.substr(hv, hash_len));
  out.end = hv + hash_len;
  return out;
}

}  // namespace

std::string Utf16Le(std::string_view s) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < s.size() && chars < 255; ++chars) {
    auto c = static_cast<uint8_t>(s[i]);
    uint32_t cp = c;
    size_t n = 1;
    if (c >= 0xF0 && i + 3 < s.size()) {
      cp = ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) | (s[i + 3] & 0x3Fu);
      n = 4;
    } else if (c >= 0xE0 && i + 2 < s.size()) {
      cp = ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
      n = 3;
    } else if (c >= 0xC0 && i + 1 < s.size()) {
      cp = ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu);
      n = 2;
    }
    i += n;
    auto put = [&](uint32_t u) {
      out.push_back(static_cast<char>(u & 0xFF));
      out.push_back(static_cast<char>((u >> 8) & 0xFF));
    };
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xD800 + (cp >> 10));
      put(0xDC00 + (cp & 0x3FF));
    } else {
      put(cp);
    }
  }
  return out;
}

Result<PackageEncryption> ParseEncryptionInfo(std::string_view d) {
  auto major = ReadLe16(d, 0), minor = ReadLe16(d, 2);
  if (!major || !minor) return std::unexpected(Error("EncryptionInfo is truncated"));
  if (*major == 4 && *minor == 4) {
    if (d.size() < 8) return std::unexpected(Error("EncryptionInfo is truncated"));
    return ParseAgile(d.substr(8));
  }
  if ((*major == 3 || *major == 4) && *minor == 2) {
    auto h = ParseCryptoApiHeader(d, 8, 32);
    if (!h) return std::unexpected(h.error());
    if (h->alg_id < 0x660E || h->alg_id > 0x6610 || (h->alg_hash != 0x8004 && h->alg_hash != 0)) {
      return std::unexpected(Error("standard encryption with an unsupported algorithm"));
    }
    PackageEncryption e;
    e.kind = PackageEncryption::Kind::kStandard;
    e.key_bits = h->key_bits;
    e.salt = h->salt;
    e.encrypted_verifier = h->verifier;
    e.encrypted_verifier_hash_std = h->verifier_hash;
    if (!Aes(e.key_bits / 8, false)) return std::unexpected(Error("standard encryption with a bad key size"));
    return e;
  }
  return std::unexpected(Error("EncryptionInfo version " + std::to_string(*major) + "." + std::to_string(*minor) +
                               " is not supported (extensible encryption)"));
}

std::optional<std::string> PackageKey(const PackageEncryption& e, std::string_view password_utf8) {
  const std::string pw = Utf16Le(password_utf8);
  if (e.kind == PackageEncryption::Kind::kStandard) {
    std::string h = SpinHash(EVP_sha1(), e.salt, pw, 50000);
    std::string hfinal = Hash(EVP_sha1(), {h, Le32Bytes(0)});
    std::string b1(64, '\x36'), b2(64, '\x5c');
    for (size_t i = 0; i < hfinal.size(); ++i) {
      b1[i] = static_cast<char>(b1[i] ^ hfinal[i]);
      b2[i] = static_cast<char>(b2[i] ^ hfinal[i]);
    }
    std::string key = (Hash(EVP_sha1(), {b1}) + Hash(EVP_sha1(), {b2})).substr(0, e.key_bits / 8);
    auto verifier = AesDecrypt(key, {}, e.encrypted_verifier, false);
    auto vhash = AesDecrypt(key, {}, e.encrypted_verifier_hash_std, false);
    if (!verifier || !vhash || vhash->size() < 20) return std::nullopt;
    if (Hash(EVP_sha1(), {*verifier}) != vhash->substr(0, 20)) return std::nullopt;
    return key;
  }
  const EVP_MD* md = Digest(e.password_hash_name);
  const std::string h = SpinHash(md, e.password_salt, pw, e.spin_count);
  const size_t key_len = e.password_key_bits / 8;
  const std::string iv = Fit(e.password_salt, e.password_block_size, '\x36');
  auto block_key = [&](std::string_view block) { return Fit(Hash(md, {h, block}), key_len, '\x36'); };
  auto input = AesDecrypt(block_key("\xfe\xa7\xd2\x76\x3b\x4b\x9e\x79"), iv, e.encrypted_verifier_input, true);
  auto value = AesDecrypt(block_key("\xd7\xaa\x0f\x6d\x30\x61\x34\x4e"), iv, e.encrypted_verifier_hash, true);
  if (!input || !value || input->size() < e.password_salt.size()) return std::nullopt;
  const std::string expect = Hash(md, {input->substr(0, e.password_salt.size())});
  if (value->size() < expect.size() || value->substr(0, expect.size()) != expect) return std::nullopt;
  auto key = AesDecrypt(block_key("\x14\x6e\x0b\xe7\xab\xac\xd0\xd6"), iv, e.encrypted_key, true);
  if (!key || key->size() < e.key_bits / 8) return std::nullopt;
  key->resize(e.key_bits / 8);
  return key;
}

Result<std::string> DecryptPackage(const PackageEncryption& e, std::string_view key, std::string_view stream,
                                   uint64_t max_bytes) {
  if (stream.size() < 8) return std::unexpected(Error("EncryptedPackage is truncated"));
  uint64_t size = *ReadLe32(stream, 0) | (static_cast<uint64_t>(*ReadLe32(stream, 4)) << 32);
  std::string_view body = stream.substr(8);
  if (size > max_bytes) return std::unexpected(Error("decrypted size " + std::to_string(size) + " is over the budget"));
  if (size > body.size()) return std::unexpected(Error("EncryptedPackage is shorter than its declared size"));
  std::string out;
  if (e.kind == PackageEncryption::Kind::kStandard) {
    auto plain = AesDecrypt(key, {}, body.substr(0, (size + 15) / 16 * 16), false);
    if (!plain) return std::unexpected(Error("AES-ECB decryption failed"));
    out = std::move(*plain);
  } else {
    const EVP_MD* md = Digest(e.hash_name);
    constexpr size_t kSegment = 4096;
    for (uint32_t i = 0; static_cast<uint64_t>(i) * kSegment < size; ++i) {
      const std::string iv = Fit(Hash(md, {e.key_data_salt, Le32Bytes(i)}), e.block_size, '\x36');
      auto plain = AesDecrypt(key, iv, body.substr(static_cast<size_t>(i) * kSegment, kSegment), true);
      if (!plain) return std::unexpected(Error("AES-CBC decryption failed at segment " + std::to_string(i)));
      out += *plain;
    }
  }
  if (out.size() < size) return std::unexpected(Error("decrypted package is short"));
  out.resize(size);
  return out;
}

Result<Rc4Encryption> ParseRc4Header(std::string_view d, size_t* consumed) {
  auto major = ReadLe16(d, 0), minor = ReadLe16(d, 2);
  if (!major || !minor) return std::unexpected(Error("encryption header is truncated"));
  Rc4Encryption e;
  if (*major == 1 && *minor == 1) {
    if (d.size() < 52) return std::unexpected(Error("RC4 encryption header is truncated"));
    e.salt = std::string(d.substr(4, 16));
    e.encrypted_verifier = std::string(d.substr(20, 16));
    e.encrypted_verifier_hash = std::string(d.substr(36, 16));
    if (consumed) *consumed = 52;
    return e;
  }
  if (*major >= 2 && *major <= 4 && *minor == 2) {
    auto h = ParseCryptoApiHeader(d, 8, 20);
    if (!h) return std::unexpected(h.error());
    if (h->alg_id != 0x6801 && h->alg_id != 0) return std::unexpected(Error("CryptoAPI encryption is not RC4"));
    e.cryptoapi = true;
    e.key_bits = h->key_bits == 0 ? 40 : h->key_bits;
    if (e.key_bits < 40 || e.key_bits > 128 || e.key_bits % 8 != 0) {
      return std::unexpected(Error("RC4 key size " + std::to_string(e.key_bits) + " is invalid"));
    }
    e.salt = h->salt;
    e.encrypted_verifier = h->verifier;
    e.encrypted_verifier_hash = h->verifier_hash;
    if (consumed) *consumed = h->end;
    return e;
  }
  return std::unexpected(Error("encryption version " + std::to_string(*major) + "." + std::to_string(*minor) +
                               " is not RC4"));
}

std::optional<std::string> Rc4BaseKey(const Rc4Encryption& e, std::string_view password_utf8) {
  const std::string pw = Utf16Le(password_utf8);
  std::string base;
  if (e.cryptoapi) {
    base = Hash(EVP_sha1(), {e.salt, pw});
  } else {
    const std::string h0 = Hash(EVP_md5(), {pw});
    std::string buf;
    for (int i = 0; i < 16; ++i) buf += h0.substr(0, 5) + e.salt;
    base = Hash(EVP_md5(), {buf});
  }
  Rc4 rc4(Rc4BlockKey(e, base, 0));
  const std::string verifier = rc4.Apply(e.encrypted_verifier);
  const std::string vhash = rc4.Apply(e.encrypted_verifier_hash);
  const std::string expect = Hash(e.cryptoapi ? EVP_sha1() : EVP_md5(), {verifier});
  if (vhash.substr(0, expect.size()) != expect) return std::nullopt;
  return base;
}

void Rc4Apply(const Rc4Encryption& e, std::string_view base, uint32_t block_size, std::string& data, size_t from,
              size_t to) {
  to = std::min(to, data.size());
  size_t pos = from;
  while (pos < to) {
    const uint32_t block = static_cast<uint32_t>(pos / block_size);
    const size_t in_block = pos % block_size;
    Rc4 rc4(Rc4BlockKey(e, base, block));
    for (size_t k = 0; k < in_block; ++k) rc4.Next();
    const size_t end = std::min(to, static_cast<size_t>(block + 1) * block_size);
    for (; pos < end; ++pos) data[pos] = static_cast<char>(static_cast<uint8_t>(data[pos]) ^ rc4.Next());
  }
}

void Rc4ApplyBlock(const Rc4Encryption& e, std::string_view base, uint32_t block, std::string& data, size_t from, size_t to) {
  to = std::min(to, data.size());
  Rc4 rc4(Rc4BlockKey(e, base, block));
  for (size_t pos = from; pos < to; ++pos) data[pos] = static_cast<char>(static_cast<uint8_t>(data[pos]) ^ rc4.Next());
}

std::string DecryptWorkbook(const Rc4Encryption& e, std::string_view base, std::string_view workbook) {
  std::string out(workbook);
  size_t pos = 0;
  for (int records = 0; pos + 4 <= out.size() && records < 1'000'000; ++records) {
    const uint16_t type = *ReadLe16(out, pos);
    const uint16_t len = *ReadLe16(out, pos + 2);
    const size_t data = pos + 4;
    const size_t end = std::min(out.size(), data + len);
    switch (type) {
      case 0x0809: case 0x00E1: case 0x0194: case 0x0195: case 0x0196: case 0x0138: break;
      case 0x002F:  // FILEPASS: blanked, so the result reads as a plain workbook
        out[pos] = out[pos + 1] = '\0';
        std::fill(out.begin() + static_cast<std::ptrdiff_t>(data), out.begin() + static_cast<std::ptrdiff_t>(end), '\0');
        break;
      case 0x0085: Rc4Apply(e, base, 1024, out, data + 4, end); break;  // BOUNDSHEET: lbPlyPos stays
      default: Rc4Apply(e, base, 1024, out, data, end); break;
    }
    pos = data + len;
  }
  return out;
}

std::optional<Result<Rc4Encryption>> WorkbookEncryption(std::string_view wb) {
  size_t pos = 0;
  for (int i = 0; i < 64 && pos + 4 <= wb.size(); ++i) {
    const uint16_t type = *ReadLe16(wb, pos);
    const uint16_t len = *ReadLe16(wb, pos + 2);
    if (type == 0x002F) {
      std::string_view body = wb.substr(pos + 4, std::min<size_t>(len, wb.size() - pos - 4));
      auto kind = ReadLe16(body, 0);
      if (!kind) return Result<Rc4Encryption>(std::unexpected(Error("FILEPASS record is truncated")));
      if (*kind == 0) return Result<Rc4Encryption>(std::unexpected(Error("XOR obfuscation is not supported")));
      return ParseRc4Header(body.substr(2));
    }
    if (type == 0x0085 || type == 0x000A) break;  // sheets listed or EOF: FILEPASS comes before
    pos += 4 + len;
  }
  return std::nullopt;
}

}  // namespace airlock::scan::office_crypto
