#include "scan/unpack/tnef.h"

#include <cstdint>
#include <algorithm>
#include <optional>

#include "scan/detectors/office/bytes.h"

namespace airlock::scan {
namespace {

// Attribute tags (low 16 bits of the attribute id; the high 16 bits are its type).
constexpr uint16_t kAttMessageClass = 0x8008;
constexpr uint16_t kAttAttachData = 0x800F;
constexpr uint16_t kAttAttachTitle = 0x8010;
constexpr uint16_t kAttAttachRendData = 0x9002;
constexpr uint16_t kAttAttachment = 0x9005;
constexpr uint16_t kAttMapiProps = 0x9003;
constexpr uint8_t kLevelAttachment = 2;

// MAPI property ids and types (MS-OXCDATA) used here.
constexpr uint16_t kPrAttachDataBin = 0x3701;  // PR_ATTACH_DATA_BIN / PR_ATTACH_DATA_OBJ
constexpr uint16_t kPrAttachFilename = 0x3704;
constexpr uint16_t kPrAttachLongFilename = 0x3707;
constexpr uint16_t kPrRtfCompressed = 0x1009;
constexpr uint16_t kPtString8 = 0x001E;
constexpr uint16_t kPtUnicode = 0x001F;
constexpr uint16_t kPtBinary = 0x0102;
constexpr uint16_t kPtObject = 0x000D;
constexpr uint16_t kMvFlag = 0x1000;
constexpr size_t kMaxTnefName = 255;
constexpr uint32_t kMaxProps = 4096;

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  size_t Left() const { return d_.size() - pos_; }
  std::optional<uint32_t> U32() {
    if (Left() < 4) return std::nullopt;
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(d_[pos_ + static_cast<size_t>(i)]);
    pos_ += 4;
    return v;
  }
  std::optional<uint16_t> U16() {
    if (Left() < 2) return std::nullopt;
    uint16_t v = static_cast<uint16_t>(static_cast<unsigned char>(d_[pos_]) |
                                       (static_cast<unsigned char>(d_[pos_ + 1]) << 8));
    pos_ += 2;
    return v;
  }
  std::optional<std::string_view> Bytes(size_t n) {
    if (Left() < n) return std::nullopt;
    std::string_view v = d_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  bool Skip(size_t n) { return Bytes(n).has_value(); }
  std::string_view Rest() const { return d_.substr(pos_); }

 private:
  std::string_view d_;
  size_t pos_ = 0;
};

std::string CString(std::string_view v) {
  size_t nul = v.find('\0');
  if (nul != std::string_view::npos) v = v.substr(0, nul);
  return std::string(v.substr(0, kMaxTnefName));
}

// UTF-16LE up to the first NUL; unpaired surrogates become U+FFFD.
std::string Utf16Name(std::string_view v) {
  std::string out;
  auto unit = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(v[i]) | (static_cast<unsigned char>(v[i + 1]) << 8));
  };
  for (size_t i = 0; i + 1 < v.size() && out.size() < kMaxTnefName; i += 2) {
    uint32_t u = unit(i);
    if (u == 0) break;
    if (u >= 0xD800 && u <= 0xDBFF && i + 3 < v.size() && unit(i + 2) >= 0xDC00 && unit(i + 2) <= 0xDFFF) {
      u = 0x10000 + ((u - 0xD800) << 10) + (unit(i + 2) - 0xDC00);
      i += 2;
    } else if (u >= 0xD800 && u <= 0xDFFF) {
      u = 0xFFFD;
    }
    office::AppendUtf8(out, u);
  }
  return out;
}

// Size of one value of a fixed-size property type, 0 for variable-size types, nullopt if unknown.
std::optional<size_t> FixedSize(uint16_t type) {
  switch (type) {
    case 0x0001:  // PtypNull
      return 4;
    case 0x0002:  // Integer16, padded
    case 0x0003:  // Integer32
    case 0x0004:  // Floating32
    case 0x000A:  // ErrorCode
    case 0x000B:  // Boolean, padded
      return 4;
    case 0x0005:  // Floating64
    case 0x0006:  // Currency
    case 0x0007:  // FloatingTime
    case 0x0014:  // Integer64
    case 0x0040:  // Time
      return 8;
    case 0x0048:  // Guid
      return 16;
    case kPtString8:
    case kPtUnicode:
    case kPtBinary:
    case kPtObject:
      return 0;
    default:
      return std::nullopt;
  }
}

size_t Pad4(size_t n) { return (4 - n % 4) % 4; }

// A MAPI property list (attAttachment, attMAPIProps): calls fn(id, base type, first value's bytes)
// for every variable-size property; stops at the first property it cannot size (the rest of the list
// is unreadable then).
template <typename Fn>
void WalkProps(std::string_view value, Fn fn) {
  Reader r(value);
  auto count = r.U32();
  if (!count) return;
  for (uint32_t p = 0; p < *count && p < kMaxProps; ++p) {
    auto type = r.U16();
    auto id = r.U16();
    if (!type || !id) return;
    if (*id >= 0x8000) {  // named property: GUID, kind, then an id or a UTF-16 name
      auto kind = (r.Skip(16) ? r.U32() : std::nullopt);
      if (!kind) return;
      if (*kind == 0) {
        if (!r.Skip(4)) return;
      } else {
        auto len = r.U32();
        if (!len || !r.Skip(*len) || !r.Skip(Pad4(*len))) return;
      }
    }
    const bool multi = (*type & kMvFlag) != 0;
    const uint16_t base = static_cast<uint16_t>(*type & ~kMvFlag);
    auto fixed = FixedSize(base);
    if (!fixed) return;
    uint32_t values = 1;
    if (multi || *fixed == 0) {
      auto n = r.U32();
      if (!n) return;
      values = *n;
    }
    for (uint32_t v = 0; v < values; ++v) {
      if (*fixed != 0) {
        if (!r.Skip(*fixed)) return;
        continue;
      }
      auto len = r.U32();
      if (!len) return;
      auto bytes = r.Bytes(*len);
      if (!bytes || !r.Skip(Pad4(*len))) return;
      if (v == 0) fn(*id, base, *bytes);
    }
  }
}

void ReadAttachmentProps(std::string_view value, std::string& long_name, std::string_view& data_obj) {
  WalkProps(value, [&](uint16_t id, uint16_t base, std::string_view bytes) {
    if (id == kPrAttachLongFilename || (id == kPrAttachFilename && long_name.empty())) {
      if (base == kPtUnicode) long_name = Utf16Name(bytes);
      if (base == kPtString8) long_name = CString(bytes);
    } else if (id == kPrAttachDataBin && (base == kPtBinary || base == kPtObject)) {
      // An object value starts with the 16-byte interface id (IID_IMessage, IID_IStorage ...).
      data_obj = base == kPtObject ? (bytes.size() >= 16 ? bytes.substr(16) : std::string_view()) : bytes;
    }
  });
}

uint32_t Le32(std::string_view d, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(d[at + static_cast<size_t>(i)]);
  return v;
}

}  // namespace

std::optional<std::string> DecompressRtf(std::string_view in, size_t max_out) {
  // MS-OXRTFCP: the dictionary starts with this 207-byte RTF prefix; references are 12-bit offsets
  // into a 4096-byte ring and 4-bit lengths (+2); a reference to the write position ends the data.
  static constexpr std::string_view kPrebuf =
      "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
      "\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
      "\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";
  static_assert(kPrebuf.size() == 207);
  if (in.size() < 16) return std::nullopt;
  const uint32_t comp_size = Le32(in, 0), raw_size = Le32(in, 4), type = Le32(in, 8);
  const size_t limit = std::min<size_t>(raw_size, max_out);
  std::string_view body = in.substr(16, std::min<size_t>(in.size() - 16, comp_size >= 12 ? comp_size - 12 : 0));
  if (type == 0x414C454D) return std::string(body.substr(0, limit));  // "MELA": stored
  if (type != 0x75465A4C) return std::nullopt;                        // "LZFu"
  std::string dict(4096, '\0');
  dict.replace(0, kPrebuf.size(), kPrebuf);
  size_t write = kPrebuf.size();
  std::string out;
  size_t pos = 0;
  while (pos < body.size() && out.size() < limit) {
    const unsigned char control = static_cast<unsigned char>(body[pos++]);
    for (int bit = 0; bit < 8 && pos < body.size() && out.size() < limit; ++bit) {
      if ((control & (1u << bit)) == 0) {
        const char c = body[pos++];
        out.push_back(c);
        dict[write] = c;
        write = (write + 1) % 4096;
        continue;
      }
      if (pos + 2 > body.size()) return out;
      const unsigned ref = (static_cast<unsigned char>(body[pos]) << 8) | static_cast<unsigned char>(body[pos + 1]);
      pos += 2;
      const size_t offset = ref >> 4, length = (ref & 0xF) + 2;
      if (offset == write) return out;  // end of the compressed data
      for (size_t k = 0; k < length && out.size() < limit; ++k) {
        const char c = dict[(offset + k) % 4096];
        out.push_back(c);
        dict[write] = c;
        write = (write + 1) % 4096;
      }
    }
  }
  return out;
}

bool LooksLikeTnef(std::string_view data) { return data.size() >= 6 && data.starts_with(kTnefSignature); }

TnefContents ParseTnef(std::string_view data, size_t max_attachments, size_t max_rtf_bytes) {
  TnefContents out;
  if (!LooksLikeTnef(data)) return out;
  Reader r(data.substr(6));  // signature, legacy key
  struct Pending {
    std::string title, long_name;
    std::string_view data, data_obj;
    bool started = false;
  } cur;
  auto flush = [&] {
    if (cur.started) {
      std::string_view bytes = !cur.data.empty() ? cur.data : cur.data_obj;
      if (!bytes.empty() && out.attachments.size() < max_attachments) {
        out.attachments.push_back({!cur.long_name.empty() ? cur.long_name : cur.title, bytes});
      }
    }
    cur = Pending{};
  };
  while (r.Left() > 0) {
    // Writers pad the end with a newline or NULs; shorter than an attribute, it is not one.
    if (r.Left() < 11 && r.Rest().find_first_not_of(std::string_view("\r\n\0", 3)) == std::string_view::npos) break;
    auto level = r.Bytes(1);
    auto id = r.U32();
    auto len = r.U32();
    if (!level || !id || !len) {
      out.truncated = true;
      break;
    }
    auto value = r.Bytes(*len);
    auto checksum = r.U16();
    if (!value || !checksum) {
      out.truncated = true;
      break;
    }
    uint16_t sum = 0;
    for (unsigned char c : *value) sum = static_cast<uint16_t>(sum + c);
    if (sum != *checksum) ++out.bad_checksums;
    const auto tag = static_cast<uint16_t>(*id & 0xFFFF);
    if (static_cast<uint8_t>((*level)[0]) != kLevelAttachment) {
      if (tag == kAttMessageClass && out.message_class.empty()) out.message_class = CString(*value);
      if (tag == kAttMapiProps && out.rtf_body.empty()) {
        WalkProps(*value, [&](uint16_t prop, uint16_t base, std::string_view bytes) {
          if (prop != kPrRtfCompressed || base != kPtBinary || !out.rtf_body.empty()) return;
          auto rtf = DecompressRtf(bytes, max_rtf_bytes);
          if (rtf) out.rtf_body = std::move(*rtf);
          out.rtf_corrupt = !rtf.has_value();
        });
      }
      continue;
    }
    if (tag == kAttAttachRendData) {
      flush();
      cur.started = true;
      continue;
    }
    cur.started = true;  // attachment attributes without a leading attAttachRendData
    if (tag == kAttAttachData) {
      cur.data = *value;
    } else if (tag == kAttAttachTitle) {
      cur.title = CString(*value);
    } else if (tag == kAttAttachment) {
      ReadAttachmentProps(*value, cur.long_name, cur.data_obj);
    }
  }
  flush();
  return out;
}

}  // namespace airlock::scan
