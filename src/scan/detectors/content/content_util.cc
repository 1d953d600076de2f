#include "scan/detectors/content/content_util.h"

#include <array>
#include <cmath>
#include <cstring>

namespace airlock::scan::content {

Finding MakeFinding(std::string id, int severity, std::string title, std::string explanation,
                    std::string_view evidence, std::vector<std::string> techniques) {
  Finding f;
  f.id = std::move(id);
  f.severity = severity;
  f.title = std::move(title);
  f.explanation = std::move(explanation);
  f.evidence = std::string(evidence.substr(0, 240));
  f.techniques = std::move(techniques);
  return f;
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool EndsWithI(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && AsciiLower(s.substr(s.size() - suffix.size())) == AsciiLower(suffix);
}

bool StartsWithI(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && AsciiLower(s.substr(0, prefix.size())) == AsciiLower(prefix);
}

std::string Extension(std::string_view name) {
  size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= name.size()) return {};
  return AsciiLower(name.substr(dot + 1));
}

bool ArrivedByMail(const Object& object) {
  int guard = 0;
  for (const Object* p = object.parent; p != nullptr && guard < 64; p = p->parent, ++guard) {
    if (AsciiLower(p->mime) == "message/rfc822" || EndsWithI(p->name, ".eml")) return true;
  }
  return false;
}

namespace {

uint32_t Le32(std::string_view d, size_t off) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(d[off + i]);
  return v;
}

uint32_t Be32(std::string_view d, size_t off) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(d[off + i]);
  return v;
}

bool At(std::string_view d, size_t off, std::string_view sig) {
  return d.size() >= off + sig.size() && d.substr(off, sig.size()) == sig;
}

}  // namespace

Magic DetectMagic(std::string_view d) {
  using namespace std::literals;
  if (At(d, 0, "MZ")) {
    if (d.size() >= 0x40) {
      uint32_t pe = Le32(d, 0x3c);
      if (pe < d.size() && d.size() - pe >= 4 && At(d, pe, "PE\0\0"sv)) return Magic::kPe;
    }
    return Magic::kMz;
  }
  if (At(d, 0, "\x7f" "ELF")) return Magic::kElf;
  if (d.size() >= 8) {
    uint32_t be = Be32(d, 0);
    if (be == 0xfeedface || be == 0xfeedfacf || be == 0xcefaedfe || be == 0xcffaedfe) return Magic::kMachO;
    // Fat Mach-O shares CAFEBABE with Java classes; a class file's next word is its version (>= 45).
    if (be == 0xcafebabe && Be32(d, 4) > 0 && Be32(d, 4) < 45) return Magic::kMachO;
  }
  if (At(d, 0, "#!")) return Magic::kShebang;
  if (At(d, 0, "\x4c\x00\x00\x00\x01\x14\x02\x00"sv)) return Magic::kLnk;
  if (At(d, 0, "PK\x03\x04") || At(d, 0, "PK\x05\x06")) return Magic::kZip;
  if (At(d, 0, "Rar!\x1a\x07")) return Magic::kRar;
  if (At(d, 0, "7z\xbc\xaf\x27\x1c")) return Magic::kSevenZip;
  if (At(d, 0, "\x1f\x8b")) return Magic::kGzip;
  if (At(d, 0, "MSCF")) return Magic::kCab;
  if (At(d, 0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")) return Magic::kOle2;
  if (At(d, 0, "vhdxfile")) return Magic::kVhdx;
  if (At(d, 0, "conectix") || (d.size() >= 512 && At(d, d.size() - 512, "conectix"))) return Magic::kVhd;
  if (At(d, 0x8001, "CD001") || At(d, 0x8801, "CD001") || At(d, 0x9001, "CD001")) return Magic::kIso;
  if (d.substr(0, 1024).find("%PDF-") != std::string_view::npos) return Magic::kPdf;
  if (At(d, 0, "\x89PNG") || At(d, 0, "\xff\xd8\xff") || At(d, 0, "GIF8") ||
      (At(d, 0, "RIFF") && At(d, 8, "WEBP"))) {
    return Magic::kImage;
  }
  return Magic::kNone;
}

std::string_view MagicName(Magic m) {
  switch (m) {
    case Magic::kNone: return "unknown";
    case Magic::kPe: return "PE executable";
    case Magic::kMz: return "DOS/MZ executable";
    case Magic::kElf: return "ELF executable";
    case Magic::kMachO: return "Mach-O executable";
    case Magic::kShebang: return "script (#!)";
    case Magic::kLnk: return "Windows shortcut (LNK)";
    case Magic::kZip: return "ZIP archive";
    case Magic::kRar: return "RAR archive";
    case Magic::kSevenZip: return "7-Zip archive";
    case Magic::kGzip: return "gzip data";
    case Magic::kCab: return "CAB archive";
    case Magic::kIso: return "ISO 9660 image";
    case Magic::kVhd: return "VHD disk image";
    case Magic::kVhdx: return "VHDX disk image";
    case Magic::kPdf: return "PDF document";
    case Magic::kOle2: return "OLE2 compound file";
    case Magic::kImage: return "image";
  }
  return "unknown";
}

bool IsNativeExecutable(Magic m) {
  return m == Magic::kPe || m == Magic::kMz || m == Magic::kElf || m == Magic::kMachO;
}

bool IsArchiveOrImage(Magic m) {
  return m == Magic::kZip || m == Magic::kRar || m == Magic::kSevenZip || m == Magic::kGzip ||
         m == Magic::kCab || m == Magic::kIso || m == Magic::kVhd || m == Magic::kVhdx;
}

std::optional<std::string> DecodeBase64(std::string_view in, size_t max_out) {
  std::string out;
  out.reserve(std::min(max_out, in.size() / 4 * 3 + 3));
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    else if (c == '=') break;
    else return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (out.size() >= max_out) return std::nullopt;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string PercentDecode(std::string_view in, size_t max_out) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < in.size() && out.size() < max_out; ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

double Entropy(std::string_view data) {
  if (data.empty()) return 0.0;
  std::array<uint64_t, 256> counts{};
  for (unsigned char c : data) ++counts[c];
  double h = 0.0;
  const double n = static_cast<double>(data.size());
  for (uint64_t c : counts) {
    if (c == 0) continue;
    double p = static_cast<double>(c) / n;
    h -= p * std::log2(p);
  }
  return h;
}

std::string Escape(std::string_view s, size_t max_len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace airlock::scan::content
