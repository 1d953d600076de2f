#include "scan/unpack/ppt_crypto.h"

#include <algorithm>
#include <set>

#include "scan/detectors/office/bytes.h"

namespace airlock::scan::office_crypto {
namespace {

constexpr uint32_t kEncryptedToken = 0xF3D1C4DFu, kPlainToken = 0xE391C05Fu;
constexpr uint16_t kUserEditAtom = 0x0FF5, kPersistDirectoryAtom = 0x1772, kCryptSession10Container = 0x2F14;

struct PptRecord {
  uint16_t type = 0;
  uint32_t length = 0;  // of the body, after the 8-byte header
};

std::optional<PptRecord> PptRecordAt(std::string_view d, size_t pos) {
  auto type = office::ReadLe16(d, pos + 2);
  auto len = office::ReadLe32(d, pos + 4);
  if (!type || !len || pos + 8 + size_t(*len) > d.size()) return std::nullopt;
  return PptRecord{*type, *len};
}

// Adds the entries of the PersistDirectoryAtom at `pos` that a newer edit did not give already.
Status ReadPersistDirectory(std::string_view d, size_t pos, std::map<uint32_t, uint32_t>& persist) {
  auto rec = PptRecordAt(d, pos);
  if (!rec || rec->type != kPersistDirectoryAtom) return MakeError("no PersistDirectoryAtom where the UserEditAtom points");
  const size_t end = pos + 8 + rec->length;
  for (size_t p = pos + 8; p + 4 <= end;) {
    const uint32_t entry = *office::ReadLe32(d, p);
    const uint32_t first = entry & 0xFFFFF, count = entry >> 20;
    p += 4;
    if (p + 4 * size_t(count) > end) return MakeError("PersistDirectoryAtom entry runs past its record");
    for (uint32_t i = 0; i < count; ++i, p += 4) {
      if (persist.size() >= kMaxPersistObjects) return MakeError("too many persist objects");
      persist.emplace(first + i, *office::ReadLe32(d, p));
    }
  }
  return Ok();
}

}  // namespace

Result<PowerPointEncryption> PowerPointEncryptionOf(std::string_view user, std::string_view doc) {
  auto token = office::ReadLe32(user, 12);
  auto edit = office::ReadLe32(user, 16);
  if (!token || !edit) return MakeError("Current User stream is truncated");
  if (*token != kEncryptedToken) return MakeError("the presentation is not encrypted");
  PowerPointEncryption out;
  std::set<uint32_t> seen;
  for (uint32_t at = *edit, n = 0; at != 0; ++n) {
    if (n >= kMaxEdits || !seen.insert(at).second) return MakeError("the edit chain loops or is too long");
    auto rec = PptRecordAt(doc, at);
    if (!rec || rec->type != kUserEditAtom || rec->length < 0x1C) return MakeError("no UserEditAtom where the edit chain points");
    if (n == 0 && rec->length >= 0x20) out.session_id = *office::ReadLe32(doc, at + 36);
    AIRLOCK_TRY_STATUS(ReadPersistDirectory(doc, *office::ReadLe32(doc, at + 20), out.persist), "persist directory");
    at = *office::ReadLe32(doc, at + 16);  // offsetLastEdit: the edit before (0: none)
  }
  auto session = out.persist.find(out.session_id);
  if (out.session_id == 0 || session == out.persist.end()) return MakeError("no CryptSession10Container (the newest edit names none)");
  auto rec = PptRecordAt(doc, session->second);
  if (!rec || rec->type != kCryptSession10Container) return MakeError("the encryption session's persist object is not a CryptSession10Container");
  auto rc4 = ParseRc4Header(doc.substr(session->second + 8, rec->length));
  if (!rc4) return MakeError("CryptSession10Container: " + rc4.error().message());
  if (!rc4->cryptoapi) return MakeError("CryptSession10Container: PowerPoint encrypts with RC4 CryptoAPI only");
  out.rc4 = std::move(*rc4);
  return out;
}

std::string DecryptPowerPoint(const PowerPointEncryption& e, std::string_view base, std::string_view document) {
  std::string out(document);
  size_t budget = 4 * out.size();
  for (const auto& [id, offset] : e.persist) {
    if (id == e.session_id || size_t(offset) + 8 > out.size()) continue;
    std::string head = out.substr(offset, 8);
    Rc4ApplyBlock(e.rc4, base, id, head, 0, head.size());
    const size_t end = std::min(out.size(), size_t(offset) + 8 + *office::ReadLe32(head, 4));
    if (end - offset > budget) break;
    budget -= end - offset;
    Rc4ApplyBlock(e.rc4, base, id, out, offset, end);
  }
  return out;
}

std::string PlainCurrentUser(std::string_view user) {
  std::string out(user);
  if (out.size() >= 16) {
    for (int i = 0; i < 4; ++i) out[12 + size_t(i)] = static_cast<char>((kPlainToken >> (8 * i)) & 0xFF);
  }
  return out;
}

}  // namespace airlock::scan::office_crypto
