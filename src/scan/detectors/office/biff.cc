#include "scan/detectors/office/biff.h"

#include "scan/detectors/office/bytes.h"

namespace airlock::scan::office {
namespace {

constexpr uint16_t kBoundSheet = 0x0085;
constexpr uint16_t kName = 0x0018;

// ShortXLUnicodeString body: cch given, then fHighByte, then chars.
std::string ReadXlString(std::string_view d, size_t pos, size_t cch) {
  if (pos >= d.size()) return {};
  const bool wide = (static_cast<unsigned char>(d[pos]) & 1) != 0;
  ++pos;
  if (wide) return Utf16LeToUtf8(d.substr(pos, std::min(cch * 2, d.size() - pos)));
  return Latin1ToUtf8(d.substr(pos, std::min(cch, d.size() - pos)));
}

// BIFF12 record header fields are 7-bit varints (type up to 2 bytes, size up to 4).
bool ReadVarint(std::string_view d, size_t& pos, size_t max_bytes, uint32_t& value) {
  value = 0;
  for (size_t i = 0; i < max_bytes; ++i) {
    if (pos >= d.size()) return false;
    const auto b = static_cast<unsigned char>(d[pos++]);
    value |= static_cast<uint32_t>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) return true;
  }
  return true;
}

bool ReadWideString(std::string_view d, size_t& pos, std::string& out) {
  auto cch = ReadLe32(d, pos);
  if (!cch || *cch > 32767 || *cch * 2ull > d.size() - pos - 4) return false;
  out = Utf16LeToUtf8(d.substr(pos + 4, *cch * 2));
  pos += 4 + *cch * 2;
  return true;
}

}  // namespace

BiffWorkbook ParseBiff8Workbook(std::string_view s) {
  BiffWorkbook wb;
  size_t pos = 0;
  for (int n = 0; n < 100000 && pos + 4 <= s.size(); ++n) {
    const uint16_t type = *ReadLe16(s, pos);
    const uint16_t len = *ReadLe16(s, pos + 2);
    pos += 4;
    if (len > s.size() - pos) break;
    std::string_view rec = s.substr(pos, len);
    pos += len;
    if (type == kBoundSheet && rec.size() >= 8) {
      BiffSheet sheet;
      sheet.offset = *ReadLe32(rec, 0);
      sheet.state = static_cast<unsigned char>(rec[4]) & 0x03;
      sheet.type = static_cast<unsigned char>(rec[5]);
      sheet.name = ReadXlString(rec, 7, static_cast<unsigned char>(rec[6]));
      if (wb.sheets.size() < 4096) wb.sheets.push_back(std::move(sheet));
    } else if (type == kName && rec.size() >= 16) {
      const uint16_t flags = *ReadLe16(rec, 0);
      const bool builtin = (flags & 0x0020) != 0;
      if (builtin && rec[15] == '\x01') wb.auto_open_name = true;
    } else if (type == 0x000A && !wb.sheets.empty()) {
      // EOF of the globals substream: the sheet list is complete. Sheet substreams follow.
      break;
    }
  }
  return wb;
}

namespace {

constexpr uint16_t kFormula = 0x0006;
constexpr uint16_t kEof = 0x000A;

// Ftab indices of the XLM functions that execute (MS-XLS 2.5.198.17 Ftab / Cetab).
const char* DangerousFunction(uint16_t index) {
  switch (index & 0x7FFF) {
    case 110: return "EXEC";
    case 149: return "REGISTER";
    case 150: return "CALL";
    default: return nullptr;
  }
}

void AddDistinct(std::vector<std::string>& list, std::string item, size_t max) {
  if (list.size() >= max) return;
  for (const auto& x : list) {
    if (x == item) return;
  }
  list.push_back(std::move(item));
}

void ScanRgce(std::string_view rgce, XlmFormulas& out) {
  for (size_t i = 0; i < rgce.size(); ++i) {
    const auto ptg = static_cast<unsigned char>(rgce[i]);
    if (ptg == 0x21 || ptg == 0x41 || ptg == 0x61) {  // ptgFunc: u16 iftab
      if (auto idx = ReadLe16(rgce, i + 1); idx && DangerousFunction(*idx)) {
        AddDistinct(out.functions, DangerousFunction(*idx), 8);
      }
    } else if (ptg == 0x22 || ptg == 0x42 || ptg == 0x62) {  // ptgFuncVar: u8 argc, u16 tab
      if (auto idx = ReadLe16(rgce, i + 2); idx && DangerousFunction(*idx)) {
        AddDistinct(out.functions, DangerousFunction(*idx), 8);
      }
    } else if (ptg == 0x17 && i + 2 < rgce.size()) {  // ptgStr: u8 cch, u8 fHighByte, chars
      const size_t cch = static_cast<unsigned char>(rgce[i + 1]);
      const bool wide = (static_cast<unsigned char>(rgce[i + 2]) & 1) != 0;
      if ((static_cast<unsigned char>(rgce[i + 2]) & 0xFE) != 0) continue;
      std::string text = ReadXlString(rgce, i + 2, cch);
      bool printable = text.size() >= 3;
      for (unsigned char c : text) printable = printable && (c >= 0x20 || c == '\t');
      if (printable) {
        AddDistinct(out.strings, std::move(text), 32);
        i += 2 + cch * (wide ? 2 : 1);
      }
    }
  }
}

}  // namespace

XlmFormulas ScanXlmSheet(std::string_view s, uint32_t offset) {
  XlmFormulas out;
  size_t pos = offset;
  for (int n = 0; n < 100000 && pos + 4 <= s.size(); ++n) {
    const uint16_t type = *ReadLe16(s, pos);
    const uint16_t len = *ReadLe16(s, pos + 2);
    pos += 4;
    if (len > s.size() - pos) break;
    std::string_view rec = s.substr(pos, len);
    pos += len;
    if (type == kEof) break;
    if (type != kFormula || rec.size() < 22) continue;
    ++out.formula_count;
    const uint16_t cce = *ReadLe16(rec, 20);
    ScanRgce(rec.substr(22, cce), out);
  }
  return out;
}

std::vector<std::string> ParseBiff12DdeLinks(std::string_view d) {
  std::vector<std::string> links;
  size_t pos = 0;
  for (int n = 0; n < 100000 && pos < d.size() && links.size() < 64; ++n) {
    uint32_t type = 0, size = 0;
    if (!ReadVarint(d, pos, 2, type) || !ReadVarint(d, pos, 4, size)) break;
    if (size > d.size() - pos) break;
    std::string_view rec = d.substr(pos, size);
    pos += size;
    if (type != 0x168) continue;  // BrtSupBook
    auto sbt = ReadLe16(rec, 0);
    if (!sbt || *sbt != 0x0001) continue;  // 1 = DDE link
    size_t p = 2;
    std::string service, topic;
    if (ReadWideString(rec, p, service) && ReadWideString(rec, p, topic)) {
      links.push_back("=" + service + "|'" + topic + "'!");
    }
  }
  return links;
}

}  // namespace airlock::scan::office
