#include "scan/detectors/office/ole_native.h"

#include "scan/detectors/office/bytes.h"

namespace airlock::scan::office {
namespace {

// LengthPrefixedAnsiString: u32 length (including the NUL), then the bytes.
std::optional<std::string> ReadLpString(std::string_view d, size_t& pos) {
  auto len = ReadLe32(d, pos);
  if (!len || *len > 4096 || *len > d.size() - pos - 4) return std::nullopt;
  std::string s(d.substr(pos + 4, *len));
  pos += 4 + *len;
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

std::optional<std::string> ReadCString(std::string_view d, size_t& pos, size_t max = 1024) {
  size_t end = d.find('\0', pos);
  if (end == std::string_view::npos || end - pos > max) return std::nullopt;
  std::string s(d.substr(pos, end - pos));
  pos = end + 1;
  return s;
}

std::optional<PackagedFile> ParsePackageAt(std::string_view d, size_t pos) {
  PackagedFile p;
  auto type = ReadLe16(d, pos);
  if (!type) return std::nullopt;
  pos += 2;
  auto label = ReadCString(d, pos);
  auto src = label ? ReadCString(d, pos) : std::nullopt;
  if (!src) return std::nullopt;
  p.label = *label;
  p.source_path = *src;
  // u16 reserved, u16 type (3 = embedded file), u32 temp path length, temp path, u32 size, data.
  auto flags = ReadLe32(d, pos);
  auto tlen = ReadLe32(d, pos + 4);
  if (!flags || !tlen || *tlen > 4096 || *tlen > d.size() - pos - 8) return std::nullopt;
  pos += 8;
  p.temp_path = std::string(d.substr(pos, *tlen));
  while (!p.temp_path.empty() && p.temp_path.back() == '\0') p.temp_path.pop_back();
  pos += *tlen;
  auto size = ReadLe32(d, pos);
  if (!size) return std::nullopt;
  pos += 4;
  p.content = d.substr(pos, std::min<size_t>(*size, d.size() - pos));
  return p;
}

}  // namespace

std::optional<Ole1Object> ParseOle1(std::string_view d) {
  size_t pos = 0;
  auto version = ReadLe32(d, pos);
  auto format = ReadLe32(d, pos + 4);
  if (!version || !format || (*format != 1 && *format != 2)) return std::nullopt;
  pos += 8;
  Ole1Object o;
  o.format_id = *format;
  auto cls = ReadLpString(d, pos);
  if (!cls) return std::nullopt;
  o.class_name = *cls;
  auto topic = ReadLpString(d, pos);
  auto item = topic ? ReadLpString(d, pos) : std::nullopt;
  if (topic) o.topic = *topic;
  if (item) o.item = *item;
  if (o.format_id == 2 && item) {
    if (auto size = ReadLe32(d, pos)) {
      pos += 4;
      o.native = d.substr(pos, std::min<size_t>(*size, d.size() - pos));
    }
  }
  return o;
}

std::optional<PackagedFile> ParsePackage(std::string_view d, bool size_prefixed) {
  if (auto p = ParsePackageAt(d, size_prefixed ? 4 : 0)) return p;
  return ParsePackageAt(d, size_prefixed ? 0 : 4);
}

}  // namespace airlock::scan::office
