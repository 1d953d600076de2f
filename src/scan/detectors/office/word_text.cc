#include "scan/detectors/office/word_text.h"

#include "scan/detectors/office/bytes.h"

namespace airlock::scan::office {
namespace {

constexpr uint16_t kWordIdent = 0xA5EC;
constexpr size_t kMaxPieces = 100000;
constexpr size_t kMaxInstr = 8192;

struct FibInfo {
  bool table1 = false;
  bool encrypted = false;
  uint32_t fc_clx = 0;
  uint32_t lcb_clx = 0;
};

std::optional<FibInfo> ReadFib(std::string_view d) {
  auto ident = ReadLe16(d, 0);
  auto flags = ReadLe16(d, 0x0A);
  if (!ident || *ident != kWordIdent || !flags) return std::nullopt;
  FibInfo fib;
  fib.table1 = (*flags & 0x0200) != 0;
  fib.encrypted = (*flags & 0x0100) != 0;
  size_t pos = 32;
  auto csw = ReadLe16(d, pos);
  if (!csw) return std::nullopt;
  pos += 2 + size_t{*csw} * 2;
  auto cslw = ReadLe16(d, pos);
  if (!cslw) return std::nullopt;
  pos += 2 + size_t{*cslw} * 4;
  auto cb = ReadLe16(d, pos);
  if (!cb || *cb < 34) return std::nullopt;
  pos += 2 + 33 * 8;  // fcClx is entry 33 of FibRgFcLcb97
  auto fc = ReadLe32(d, pos);
  auto lcb = ReadLe32(d, pos + 4);
  if (!fc || !lcb) return std::nullopt;
  fib.fc_clx = *fc;
  fib.lcb_clx = *lcb;
  return fib;
}

}  // namespace

std::optional<std::string> WordTableStreamName(std::string_view word_document) {
  auto fib = ReadFib(word_document);
  if (!fib) return std::nullopt;
  return std::string(fib->table1 ? "1Table" : "0Table");
}

std::optional<std::string> ReadWordText(std::string_view doc, std::string_view table0, std::string_view table1,
                                        size_t max_chars) {
  auto fib = ReadFib(doc);
  if (!fib || fib->encrypted) return std::nullopt;
  std::string_view table = fib->table1 ? table1 : table0;
  if (fib->fc_clx > table.size() || fib->lcb_clx > table.size() - fib->fc_clx) return std::nullopt;
  std::string_view clx = table.substr(fib->fc_clx, fib->lcb_clx);
  size_t pos = 0;
  // Skip Prc entries (clxt 0x01, cbGrpprl i16, grpprl).
  while (pos < clx.size() && clx[pos] == '\x01') {
    auto cb = ReadLe16(clx, pos + 1);
    if (!cb || static_cast<int16_t>(*cb) < 0) return std::nullopt;
    pos += 3 + *cb;
  }
  if (pos >= clx.size() || clx[pos] != '\x02') return std::nullopt;
  auto lcb = ReadLe32(clx, pos + 1);
  if (!lcb || *lcb > clx.size() - pos - 5 || *lcb < 16) return std::nullopt;
  std::string_view plc = clx.substr(pos + 5, *lcb);
  const size_t n = (plc.size() - 4) / 12;
  if (n == 0 || n > kMaxPieces) return std::nullopt;
  std::string text;
  for (size_t i = 0; i < n && text.size() < max_chars; ++i) {
    const uint32_t cp0 = *ReadLe32(plc, i * 4);
    const uint32_t cp1 = *ReadLe32(plc, (i + 1) * 4);
    if (cp1 < cp0) return std::nullopt;
    const size_t count = std::min<size_t>(cp1 - cp0, max_chars - text.size());
    const uint32_t fc_raw = *ReadLe32(plc, (n + 1) * 4 + i * 8 + 2);
    const bool compressed = (fc_raw & 0x40000000u) != 0;
    if (compressed) {
      const size_t off = (fc_raw & 0x3FFFFFFFu) / 2;
      if (off > doc.size()) return std::nullopt;
      text += Latin1ToUtf8(doc.substr(off, count));
    } else {
      const size_t off = fc_raw & 0x3FFFFFFFu;
      if (off > doc.size()) return std::nullopt;
      text += Utf16LeToUtf8(doc.substr(off, count * 2));
    }
  }
  return text;
}

std::vector<std::string> FieldInstructions(std::string_view text) {
  struct Open {
    std::string instr;
    std::string result;
    bool separated = false;
  };
  std::vector<Open> stack;
  std::vector<std::string> out;
  for (char c : text) {
    if (c == '\x13') {
      if (stack.size() < 64) stack.push_back(Open{});
    } else if (c == '\x14') {
      if (!stack.empty()) stack.back().separated = true;
    } else if (c == '\x15') {
      if (stack.empty()) continue;
      Open done = std::move(stack.back());
      stack.pop_back();
      if (out.size() < 4096) out.push_back(done.instr);
      if (!stack.empty() && !stack.back().separated && stack.back().instr.size() < kMaxInstr) {
        stack.back().instr += done.result;  // a nested field contributes its (cached) result
      }
    } else if (!stack.empty()) {
      Open& top = stack.back();
      std::string& target = top.separated ? top.result : top.instr;
      if (target.size() < kMaxInstr) target.push_back(c);
    }
  }
  return out;
}

}  // namespace airlock::scan::office
