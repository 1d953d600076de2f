#include "scan/detectors/office/vba_dir.h"

#include "scan/detectors/office/bytes.h"

namespace airlock::scan::office {
namespace {

enum : uint16_t {
  kProjectCodePage = 0x0003,
  kProjectName = 0x0004,
  kProjectVersion = 0x0009,
  kProjectModules = 0x000F,
  kDirTerminator = 0x0010,
  kModuleName = 0x0019,
  kModuleStreamName = 0x001A,
  kModuleTerminator = 0x002B,
  kModuleOffset = 0x0031,
  kModuleStreamNameUnicode = 0x0032,
  kModuleNameUnicode = 0x0047,
};

}  // namespace

Result<VbaDirInfo> ParseVbaDir(std::string_view dir, size_t max_modules) {
  VbaDirInfo info;
  size_t pos = 0;
  size_t records = 0;
  bool in_module = false;
  VbaModuleInfo current;
  auto finish_module = [&] {
    if (!in_module) return;
    if (current.name.empty()) current.name = current.stream_name;
    if (current.stream_name.empty()) current.stream_name = current.name;
    if (!current.stream_name.empty() && info.modules.size() < max_modules) {
      info.modules.push_back(std::move(current));
    }
    current = VbaModuleInfo{};
    in_module = false;
  };
  while (pos + 6 <= dir.size()) {
    const uint16_t id = *ReadLe16(dir, pos);
    const uint32_t size = *ReadLe32(dir, pos + 2);
    pos += 6;
    ++records;
    if (id == kProjectVersion) {
      // Reserved(4, "size") is followed by VersionMajor(4) and VersionMinor(2) not counted in it.
      pos += 6;
      continue;
    }
    if (size > dir.size() - pos) break;  // truncated record
    const std::string_view data = dir.substr(pos, size);
    pos += size;
    switch (id) {
      case kProjectCodePage:
        if (auto cp = ReadLe16(data, 0)) info.code_page = *cp;
        break;
      case kProjectName:
        info.project_name = Latin1ToUtf8(data);
        break;
      case kModuleName:
        finish_module();
        in_module = true;
        current.name = Latin1ToUtf8(data);
        break;
      case kModuleNameUnicode:
        if (in_module && !data.empty()) current.name = Utf16LeToUtf8(data);
        break;
      case kModuleStreamName:
        if (in_module) current.stream_name = Latin1ToUtf8(data);
        break;
      case kModuleStreamNameUnicode:
        if (in_module && !data.empty()) current.stream_name = Utf16LeToUtf8(data);
        break;
      case kModuleOffset:
        if (in_module) {
          if (auto off = ReadLe32(data, 0)) {
            current.text_offset = *off;
            current.offset_seen = true;
          }
        }
        break;
      case kModuleTerminator:
        finish_module();
        break;
      case kDirTerminator:
        finish_module();
        return info;
      case kProjectModules:
      default:
        break;
    }
    if (info.modules.size() >= max_modules) break;
  }
  finish_module();
  if (records == 0) return MakeError("vba dir: no records");
  return info;
}

}  // namespace airlock::scan::office
