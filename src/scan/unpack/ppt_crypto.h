// Encrypted PowerPoint 97-2003 presentations (MS-PPT 2.3.7; RC4 CryptoAPI, MS-OFFCRYPTO 2.3.5): the
// edit chain that locates the persist objects, the CryptSession10Container that holds the
// encryption header, and decryption of the "PowerPoint Document" stream.
//
// Contract: the streams are hostile. Every offset and length is checked against the stream; the edit
// chain is followed at most kMaxEdits steps and never loops; at most kMaxPersistObjects objects are
// located and at most 4 times the stream's size is decrypted, so a crafted directory cannot make the
// work quadratic. Nothing here throws.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/error.h"
#include "scan/unpack/office_crypto.h"

namespace airlock::scan::office_crypto {

struct PowerPointEncryption {
  Rc4Encryption rc4;                     // from the CryptSession10Container (RC4 CryptoAPI only)
  std::map<uint32_t, uint32_t> persist;  // persist id -> offset in "PowerPoint Document" (newest edit wins)
  uint32_t session_id = 0;               // the CryptSession10Container's own persist id (stays clear)
};

inline constexpr int kMaxEdits = 256;
inline constexpr size_t kMaxPersistObjects = 100000;

// From the "Current User" and "PowerPoint Document" streams of a presentation whose CurrentUserAtom
// says it is encrypted (headerToken 0xF3D1C4DF); an error naming what is missing or malformed.
Result<PowerPointEncryption> PowerPointEncryptionOf(std::string_view current_user, std::string_view document);

// The document with every persist object but the session container decrypted: each object (record
// header and body) is one block keyed by its persist id, the keystream starting at its first byte.
std::string DecryptPowerPoint(const PowerPointEncryption& e, std::string_view base_key, std::string_view document);

// The Current User stream marked plain (headerToken 0xE391C05F), so readers take the decrypted
// document for an ordinary one.
std::string PlainCurrentUser(std::string_view current_user);

}  // namespace airlock::scan::office_crypto
