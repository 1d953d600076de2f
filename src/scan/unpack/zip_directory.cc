#include "scan/unpack/zip_directory.h"

#include <algorithm>
#include <array>
#include <set>

#include "scan/detectors/office/bytes.h"
#include "core/ascii.h"

namespace airlock::scan {
namespace {

using office::ReadLe16;
using office::ReadLe32;

constexpr size_t kMaxName = 1024;

std::string_view Ext(std::string_view name) {
  size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  size_t dot = name.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
}

bool IsExecutableExt(std::string_view ext) {
  static constexpr std::array<std::string_view, 32> kExts = {
      "exe", "scr", "com", "pif", "cpl", "msi", "dll", "bat", "cmd", "ps1", "vbs", "vbe", "js", "jse", "wsf", "wsh",
      "hta", "jar", "lnk", "url", "scf", "iso", "img", "vhd", "vhdx", "msc", "reg", "sh", "elf", "appimage", "gadget",
      "chm"};
  const std::string e = AsciiLower(ext);
  return std::find(kExts.begin(), kExts.end(), e) != kExts.end();
}

bool IsDocumentExt(std::string_view ext) {
  static constexpr std::array<std::string_view, 16> kExts = {"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt",
                                                             "rtf", "jpg", "jpeg", "png", "gif", "zip", "rar", "csv"};
  const std::string e = AsciiLower(ext);
  return std::find(kExts.begin(), kExts.end(), e) != kExts.end();
}

}  // namespace

int MemberNameRisk(std::string_view name) {
  const std::string_view ext = Ext(name);
  if (!IsExecutableExt(ext)) return 0;
  std::string_view stem = name.substr(0, name.size() - ext.size() - 1);
  if (stem.ends_with("  ")) return 2;  // padding that pushes the real extension out of view
  while (!stem.empty() && stem.back() == ' ') stem.remove_suffix(1);
  return IsDocumentExt(Ext(stem)) ? 2 : 1;
}

std::vector<std::string> ZipDirectoryNames(std::string_view d, size_t max_names) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](size_t at, size_t len) {
    if (len == 0 || len > kMaxName || at > d.size() || len > d.size() - at || out.size() >= max_names) return;
    std::string name(d.substr(at, len));
    if (seen.insert(name).second) out.push_back(std::move(name));
  };
  // Central directory through the EOCD record (the last 64 KiB + 22 bytes hold it).
  const size_t tail = d.size() > 65557 ? d.size() - 65557 : 0;
  size_t eocd = d.rfind(std::string_view("PK\x05\x06", 4));
  if (eocd != std::string_view::npos && eocd >= tail && eocd + 22 <= d.size()) {
    size_t pos = *ReadLe32(d, eocd + 16);
    for (uint32_t n = *ReadLe16(d, eocd + 10); n > 0 && pos + 46 <= d.size() && out.size() < max_names; --n) {
      if (d.substr(pos, 4) != std::string_view("PK\x01\x02", 4)) break;
      const size_t name_len = *ReadLe16(d, pos + 28);
      add(pos + 46, name_len);
      pos += 46 + name_len + *ReadLe16(d, pos + 30) + *ReadLe16(d, pos + 32);
    }
  }
  // Headers found by signature: central (name at 46) and local (name at 30).
  for (size_t pos = 0; pos + 30 <= d.size() && out.size() < max_names; ++pos) {
    pos = d.find("PK", pos);
    if (pos == std::string_view::npos || pos + 30 > d.size()) break;
    if (d[pos + 2] == '\x01' && d[pos + 3] == '\x02' && pos + 46 <= d.size()) {
      add(pos + 46, *ReadLe16(d, pos + 28));
    } else if (d[pos + 2] == '\x03' && d[pos + 3] == '\x04') {
      add(pos + 30, *ReadLe16(d, pos + 26));
    }
  }
  return out;
}

}  // namespace airlock::scan
