// Office document encryption (MS-OFFCRYPTO), written from the specification with OpenSSL's digests
// and AES; RC4 is implemented here (OpenSSL 3 keeps it in the legacy provider).
//   - OOXML in an OLE container (EncryptionInfo + EncryptedPackage streams): ECMA-376 agile
//     (2.3.4.10, XML descriptor, SHA-x spin, AES-CBC segments of 4096 bytes) and standard
//     (2.3.4.5, SHA-1 x 50000, AES-ECB).
//   - Binary documents: RC4 (2.3.6, MD5, "Office 97") and RC4 CryptoAPI (2.3.5, SHA-1), as used by
//     the .xls FILEPASS record (MS-XLS 2.4.117, 1024-byte re-keying blocks) and the .doc table-stream
//     header (MS-DOC 2.2.6.2, 512-byte blocks).
// Every function is pure and bounded; bad input is an error, never a crash. Called by the
// office-decrypt unpacker (office_decrypt_unpacker.h). Its tests encrypt with their own encryptors
// (checked by msoffcrypto-tool) and feed hostile headers to these parsers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace airlock::scan::office_crypto {

// Passwords are UTF-8 on input and hashed as UTF-16LE, as Office does (at most 255 characters).
std::string Utf16Le(std::string_view utf8);

// --- OOXML (EncryptionInfo stream) ---
struct PackageEncryption {
  enum class Kind { kAgile, kStandard } kind = Kind::kStandard;
  // Agile: key data (package) and password key encryptor parameters.
  std::string hash_name;  // "SHA1", "SHA256", "SHA384", "SHA512"
  uint32_t key_bits = 0;  // AES key size
  uint32_t block_size = 16;
  std::string key_data_salt;
  std::string password_salt;
  std::string password_hash_name;
  uint32_t password_key_bits = 0;
  uint32_t password_block_size = 16;
  uint32_t spin_count = 0;
  std::string encrypted_verifier_input, encrypted_verifier_hash, encrypted_key;
  // Standard: salt, verifier and verifier hash (AES-ECB encrypted).
  std::string salt, encrypted_verifier, encrypted_verifier_hash_std;
};

// Parses the EncryptionInfo stream. Spin counts above kMaxSpinCount are refused (a crafted file
// would otherwise buy seconds of hashing per password).
inline constexpr uint32_t kMaxSpinCount = 1'000'000;
Result<PackageEncryption> ParseEncryptionInfo(std::string_view stream);

// The package key for `password`, when the password's verifier matches; nullopt otherwise.
std::optional<std::string> PackageKey(const PackageEncryption& enc, std::string_view password_utf8);

// Decrypts an EncryptedPackage stream (u64 size + ciphertext) with the package key; refuses a
// declared size above `max_bytes` or beyond the ciphertext.
Result<std::string> DecryptPackage(const PackageEncryption& enc, std::string_view key, std::string_view stream,
                                   uint64_t max_bytes);

// --- RC4 / RC4 CryptoAPI (binary documents) ---
struct Rc4Encryption {
  bool cryptoapi = false;
  uint32_t key_bits = 128;  // CryptoAPI: 40..128; plain RC4: 128 (40-bit effective, MD5-derived)
  std::string salt, encrypted_verifier, encrypted_verifier_hash;
};

// Parses an EncryptionVersionInfo followed by an RC4 (1.1) or RC4 CryptoAPI (2.2/3.2/4.2) header,
// as found after wEncryptionType in FILEPASS and at the start of a .doc table stream. `consumed`
// receives the header's length.
Result<Rc4Encryption> ParseRc4Header(std::string_view data, size_t* consumed = nullptr);

// The password's base key material when the verifier matches (opaque to callers).
std::optional<std::string> Rc4BaseKey(const Rc4Encryption& enc, std::string_view password_utf8);

// XORs `data[from, to)` with the keystream, where byte i of `data` sits at stream position
// `stream_offset + i` and the key is renewed every `block_size` bytes of stream position.
void Rc4Apply(const Rc4Encryption& enc, std::string_view base_key, uint32_t block_size, std::string& data,
              size_t from, size_t to);

// XORs `data[from, to)` with the keystream of one block from its first byte, never renewed: the key
// of block `block` (PowerPoint encrypts each persist object as one block numbered by its persist id).
void Rc4ApplyBlock(const Rc4Encryption& enc, std::string_view base_key, uint32_t block, std::string& data, size_t from,
                   size_t to);

// .xls: decrypts the Workbook stream in place of a copy: record headers stay clear, BOF, FILEPASS,
// INTERFACEHDR, USREXCL, FILELOCK, RRDINFO, RRDHEAD and BOUNDSHEET's lbPlyPos are not encrypted; the
// FILEPASS record is blanked (type 0) so readers see a plain workbook.
std::string DecryptWorkbook(const Rc4Encryption& enc, std::string_view base_key, std::string_view workbook);

// Finds FILEPASS among the first records of a BIFF8 Workbook stream and parses its RC4 header.
// nullopt when the workbook is not encrypted; an error when it is encrypted in a way not handled
// here (XOR obfuscation, unknown version).
std::optional<Result<Rc4Encryption>> WorkbookEncryption(std::string_view workbook);

}  // namespace airlock::scan::office_crypto
