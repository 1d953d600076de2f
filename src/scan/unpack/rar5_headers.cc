#include "scan/unpack/rar5_headers.h"

#include <cstdint>
#include <optional>

namespace airlock::scan {
namespace {

constexpr uint64_t kHeadFile = 2, kHeadCrypt = 4, kHeadEnd = 5;
constexpr uint64_t kFlagExtra = 0x0001, kFlagData = 0x0002;
constexpr uint64_t kFileTime = 0x0002, kFileCrc = 0x0004;
constexpr uint64_t kExtraCrypt = 0x01;

// A cursor over [pos, end) that fails (returns nullopt) instead of reading past the end.
struct Cursor {
  std::string_view data;
  size_t pos;
  size_t end;

  std::optional<uint64_t> Vint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 70 && pos < end; shift += 7) {
      const auto b = static_cast<unsigned char>(data[pos++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return std::nullopt;
  }
  bool Skip(uint64_t n) {
    if (n > end - pos) return false;
    pos += static_cast<size_t>(n);
    return true;
  }
};

// The file header's name, and whether its extra area [extra_begin, end) has an encryption record.
std::optional<std::string> FileName(Cursor c) {
  auto flags = c.Vint();
  if (!flags || !c.Vint() || !c.Vint()) return std::nullopt;  // file flags, unpacked size, attributes
  if ((*flags & kFileTime) != 0 && !c.Skip(4)) return std::nullopt;
  if ((*flags & kFileCrc) != 0 && !c.Skip(4)) return std::nullopt;
  if (!c.Vint() || !c.Vint()) return std::nullopt;  // compression information, host OS
  auto len = c.Vint();
  if (!len || *len > c.end - c.pos) return std::nullopt;
  return std::string(c.data.substr(c.pos, static_cast<size_t>(*len)));
}

bool HasCryptRecord(Cursor c) {
  while (c.pos < c.end) {
    auto size = c.Vint();
    if (!size || *size == 0 || *size > c.end - c.pos) return false;
    const size_t next = c.pos + static_cast<size_t>(*size);
    auto type = c.Vint();
    if (type && *type == kExtraCrypt) return true;
    c.pos = next;
  }
  return false;
}

}  // namespace

Rar5Encryption FindRar5Encryption(std::string_view data, size_t max_blocks) {
  Rar5Encryption out;
  if (!data.starts_with(kRar5Signature)) return out;
  size_t pos = kRar5Signature.size();
  for (size_t block = 0; block < max_blocks; ++block) {
    Cursor c{data, pos, data.size()};
    if (!c.Skip(4)) break;  // header CRC32
    auto size = c.Vint();
    if (!size || *size == 0 || *size > c.end - c.pos) break;
    const size_t header_end = c.pos + static_cast<size_t>(*size);
    c.end = header_end;
    auto type = c.Vint();
    auto flags = c.Vint();
    if (!type || !flags) break;
    uint64_t extra_size = 0, data_size = 0;
    if ((*flags & kFlagExtra) != 0) {
      auto v = c.Vint();
      if (!v || *v > header_end - c.pos) break;
      extra_size = *v;
    }
    if ((*flags & kFlagData) != 0) {
      auto v = c.Vint();
      if (!v) break;
      data_size = *v;
    }
    if (*type == kHeadCrypt) {
      out.headers = true;
      break;
    }
    if (*type == kHeadEnd) break;
    if (*type == kHeadFile && extra_size > 0) {
      const size_t extra_begin = header_end - static_cast<size_t>(extra_size);
      if (extra_begin < c.pos) break;
      if (HasCryptRecord(Cursor{data, extra_begin, header_end})) {
        auto name = FileName(Cursor{data, c.pos, extra_begin});
        out.members.push_back(name ? *name : "entry-" + std::to_string(block));
      }
    }
    if (data_size > data.size() - header_end) break;
    pos = header_end + static_cast<size_t>(data_size);
  }
  return out;
}

}  // namespace airlock::scan
