#include "scan/magic_numbers.h"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <iterator>

#include "scan/plain_text.h"

namespace airlock::scan {
namespace {

uint16_t Le16(std::string_view d, size_t off) {
  return static_cast<uint16_t>(static_cast<unsigned char>(d[off]) | static_cast<unsigned char>(d[off + 1]) << 8);
}
uint32_t Le32(std::string_view d, size_t off) { return Le16(d, off) | static_cast<uint32_t>(Le16(d, off + 2)) << 16; }

bool At(std::string_view d, size_t off, std::string_view what) {
  return d.size() >= off + what.size() && d.substr(off, what.size()) == what;
}

// Magic numbers libmagic looks for at fixed offsets other than 0 (tar, ISO 9660): if one is there, it
// may win over the offset-0 rule, so we do not answer.
bool OtherOffsetMagic(std::string_view d) {
  return At(d, 257, "ustar") || At(d, 32769, "CD001") || At(d, 34817, "CD001") || At(d, 36865, "CD001");
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c); });
  return out;
}

// ZIP: libmagic names many formats by the first entry (mimetype -> ODF/EPUB, [Content_Types].xml ->
// OOXML, META-INF/ -> JAR, AndroidManifest.xml -> APK, doc.kml -> KMZ ...). We answer only for a
// first entry that is a plain "name.ext" with an extension from a fixed list, a version and a method
// whose wording was checked against libmagic.
std::optional<KnownType> Zip(std::string_view d) {
  if (d.size() < 30 || !At(d, 0, "PK\x03\x04") || OtherOffsetMagic(d)) return std::nullopt;
  const uint16_t version = Le16(d, 4);
  const uint16_t method = Le16(d, 8);
  const size_t name_len = Le16(d, 26);
  const size_t extra_len = Le16(d, 28);
  if (version != 10 && version != 20 && version != 45) return std::nullopt;
  if (method != 0 && method != 8) return std::nullopt;
  if (name_len == 0 || name_len > 64 || d.size() < 30 + name_len + extra_len) return std::nullopt;
  if (extra_len >= 2 && Le16(d, 30 + name_len) == 0xCAFE) return std::nullopt;  // JAR marker
  const std::string_view name = d.substr(30, name_len);
  const size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos || name.find('.', dot + 1) != std::string_view::npos) return std::nullopt;
  for (size_t i = 0; i < dot; ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9') && c != '_' && c != '-') return std::nullopt;
  }
  static constexpr std::string_view kExtensions[] = {"txt", "zip", "com", "exe", "pdf", "csv", "log", "js",
                                                     "vbs", "bat", "cmd", "ps1", "hta", "lnk", "sh", "png",
                                                     "jpg", "gif", "eml", "doc", "xls", "rtf", "dat", "bin"};
  const std::string ext = Lower(name.substr(dot + 1));
  if (std::find(std::begin(kExtensions), std::end(kExtensions), ext) == std::end(kExtensions)) return std::nullopt;
  KnownType t;
  t.mime = "application/zip";
  t.description = "Zip archive data, at least v" + std::to_string(version / 10) + "." + std::to_string(version % 10) +
                  " to extract, compression method=" + (method == 8 ? "deflate" : "store");
  return t;
}

// OOXML as libmagic recognizes it: the first entry is [Content_Types].xml and the third entry's name
// starts with word/, xl/ or ppt/. libmagic finds the second and third local headers by searching for
// "PK\3\4" (from the end of the first entry's data, then from the second header's name, 6000 bytes each);
// we walk the headers by their sizes and answer only when that search would find the same ones.
std::optional<KnownType> Ooxml(std::string_view d) {
  static constexpr std::string_view kSig = "PK\x03\x04";
  static constexpr std::string_view kFirst = "[Content_Types].xml";
  static constexpr size_t kWindow = 5000;  // libmagic searches 6000 bytes; stay well inside
  if (d.size() < 30 || !At(d, 0, kSig) || OtherOffsetMagic(d)) return std::nullopt;
  size_t header = 0;
  size_t positions[3] = {0, 0, 0};
  for (int i = 0; i < 2; ++i) {
    if (d.size() < header + 30 || !At(d, header, kSig)) return std::nullopt;
    if ((Le16(d, header + 6) & 0x0008) != 0) return std::nullopt;  // sizes in a data descriptor
    const size_t next = header + 30 + Le16(d, header + 26) + Le16(d, header + 28) + Le32(d, header + 18);
    if (next + 30 > d.size()) return std::nullopt;
    positions[i + 1] = next;
    header = next;
  }
  if (Le16(d, 26) != kFirst.size() || Le16(d, 28) != 0 || !At(d, 30, kFirst)) return std::nullopt;
  // The searches: from the end of the first entry's data to the second header, and from the second
  // header's name to the third: no other "PK\3\4" on the way, and within the window.
  const size_t from[2] = {30 + kFirst.size() + Le32(d, 18), positions[1] + 30};
  for (int i = 0; i < 2; ++i) {
    const size_t found = d.find(kSig, from[i]);
    if (found != positions[i + 1] || found - from[i] > kWindow) return std::nullopt;
  }
  if (!At(d, positions[2], kSig)) return std::nullopt;
  const std::string_view third = d.substr(positions[2] + 30, std::min<size_t>(Le16(d, positions[2] + 26), 8));
  KnownType t;
  if (third.starts_with("word/")) {
    t = {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Microsoft Word 2007+"};
  } else if (third.starts_with("xl/")) {
    t = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Microsoft Excel 2007+"};
  } else if (third.starts_with("ppt/")) {
    t = {"application/vnd.openxmlformats-officedocument.presentationml.presentation", "Microsoft PowerPoint 2007+"};
  } else {
    return std::nullopt;
  }
  return t;
}

// gzip with FLG = 0 (no name, comment, extra field or header CRC): libmagic prints the modification
// time (local time, asctime layout), the XFL hint and the OS byte; only the values checked are handled.
std::optional<KnownType> Gzip(std::string_view d) {
  if (d.size() < 18 || !At(d, 0, "\x1f\x8b\x08") || d[3] != 0 || OtherOffsetMagic(d)) return std::nullopt;
  const uint32_t mtime = Le32(d, 4);
  const unsigned char xfl = static_cast<unsigned char>(d[8]);
  const unsigned char os = static_cast<unsigned char>(d[9]);
  if (mtime >= 0x7fffffffu || (xfl != 0 && xfl != 2 && xfl != 4) || (os != 3 && os != 255)) return std::nullopt;
  KnownType t;
  t.mime = "application/gzip";
  t.description = "gzip compressed data";
  if (mtime != 0) {
    const time_t when = static_cast<time_t>(mtime);
    struct tm tm {};
    char buf[64];
    if (localtime_r(&when, &tm) == nullptr || strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm) == 0) {
      return std::nullopt;
    }
    t.description += ", last modified: ";
    t.description += buf;
  }
  if (xfl == 2) t.description += ", max compression";
  if (xfl == 4) t.description += ", max speed";
  if (os == 3) t.description += ", from Unix";
  return t;
}

// Markup libmagic has its own rules for (SVG, XHTML, feeds, maps, DocBook, PHP, ...): present anywhere
// means we do not answer. Compared case-insensitively.
bool HasOtherMarkup(const std::string& lower, size_t from) {
  static constexpr std::string_view kMarkers[] = {
      "<!", "<?", "<svg", "<html", "<head", "<body", "<script", "<rss", "<feed", "<kml", "<gpx", "<plist",
      "<urlset", "<xsl", "<smil", "<x3d", "<osm", "<math", "docbook", "xhtml", "<title", "%pdf", "#!"};
  for (std::string_view m : kMarkers) {
    if (lower.find(m, from) != std::string::npos) return true;
  }
  return false;
}

// XML 1.0 whose root element is a part of an OOXML package (the documents inside every .docx/.xlsx).
std::optional<KnownType> OoxmlPartXml(std::string_view d) {
  static constexpr std::string_view kDecl = "<?xml version=\"1.0\"";
  if (!At(d, 0, kDecl) || d.size() > (1u << 20)) return std::nullopt;
  const size_t decl_end = d.find("?>");
  if (decl_end == std::string_view::npos) return std::nullopt;
  size_t p = decl_end + 2;
  while (p < d.size() && (d[p] == '\r' || d[p] == '\n' || d[p] == ' ')) ++p;
  if (p >= d.size() || d[p] != '<') return std::nullopt;
  size_t e = p + 1;
  while (e < d.size() && d[e] != ' ' && d[e] != '>' && d[e] != '/' && d[e] != '\r' && d[e] != '\n') ++e;
  static constexpr std::string_view kRoots[] = {
      "Types", "Relationships", "w:document", "w:styles", "w:settings", "w:webSettings", "w:fontTable",
      "w:numbering", "w:footnotes", "w:endnotes", "w:comments", "w:hdr", "w:ftr", "a:theme",
      "cp:coreProperties", "Properties", "worksheet", "workbook", "sst", "styleSheet", "p:presentation",
      "p:sld", "p:sldLayout", "p:sldMaster", "p:presProps", "p:viewProps", "p:tableStyles", "p:notesSlide",
      "p:notesMaster", "p:handoutMaster", "calcChain"};
  const std::string_view root = d.substr(p + 1, e - p - 1);
  if (std::find(std::begin(kRoots), std::end(kRoots), root) == std::end(kRoots)) return std::nullopt;
  if (HasOtherMarkup(Lower(d), kDecl.size())) return std::nullopt;
  auto suffix = TextSuffix(d);
  if (!suffix) return std::nullopt;
  return KnownType{"text/xml", "XML 1.0 document" + *suffix};
}

// HTML that opens with <html> or <!DOCTYPE html> and contains no other markup family.
std::optional<KnownType> Html(std::string_view d) {
  size_t skip = 0;
  if (At(d, 0, "<html>")) {
    skip = 6;
  } else if (At(d, 0, "<!DOCTYPE html>")) {
    skip = 15;
  } else {
    return std::nullopt;
  }
  if (d.size() > (1u << 20)) return std::nullopt;
  const std::string lower = Lower(d);
  static constexpr std::string_view kMarkers[] = {"<?", "<svg", "<xml", "#!", "%pdf", "<!doctype"};
  for (std::string_view m : kMarkers) {
    if (lower.find(m, skip) != std::string::npos) return std::nullopt;
  }
  auto suffix = TextSuffix(d);
  if (!suffix) return std::nullopt;
  return KnownType{"text/html", "HTML document" + *suffix};
}

}  // namespace

std::optional<KnownType> TypeByMagicNumbers(std::string_view data) {
  if (data.size() < 4) return std::nullopt;
  switch (data[0]) {
    case 'P': {
      if (auto t = Zip(data)) return t;
      return Ooxml(data);
    }
    case '\x1f': return Gzip(data);
    case '<': {
      if (auto t = OoxmlPartXml(data)) return t;
      return Html(data);
    }
    default: return std::nullopt;
  }
}

}  // namespace airlock::scan
