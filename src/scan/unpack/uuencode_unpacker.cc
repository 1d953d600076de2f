#include "scan/unpack/uuencode_unpacker.h"

#include <algorithm>

namespace airlock::scan {
namespace {

bool IsOctal(std::string_view s) {
  if (s.empty() || s.size() > 4) return false;
  for (char c : s) {
    if (c < '0' || c > '7') return false;
  }
  return true;
}

// "begin 644 name" -> name; empty when the line is not a begin line.
std::string BeginName(std::string_view line) {
  if (!line.starts_with("begin ")) return {};
  line.remove_prefix(6);
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos || !IsOctal(line.substr(0, sp))) return {};
  std::string_view name = line.substr(sp + 1);
  while (!name.empty() && (name.back() == '\r' || name.back() == ' ')) name.remove_suffix(1);
  return std::string(name.empty() ? "uudecoded" : name);
}

void DecodeLine(std::string_view line, std::string& out) {
  if (line.empty()) return;
  int n = (line[0] - 0x20) & 0x3f;
  // Never produce more than the line's characters encode (bounded output for hostile input).
  n = std::min<int>(n, static_cast<int>((line.size() - 1) / 4 * 3));
  size_t i = 1;
  auto val = [&](size_t k) -> unsigned { return k < line.size() ? ((line[k] - 0x20) & 0x3f) : 0u; };
  while (n > 0) {
    unsigned a = val(i), b = val(i + 1), c = val(i + 2), d = val(i + 3);
    unsigned bits = (a << 18) | (b << 12) | (c << 6) | d;
    char bytes[3] = {static_cast<char>(bits >> 16), static_cast<char>(bits >> 8), static_cast<char>(bits)};
    for (int k = 0; k < 3 && n > 0; ++k, --n) out.push_back(bytes[k]);
    i += 4;
  }
}

}  // namespace

bool UuencodeUnpacker::Accepts(const Object& object) const {
  if (!object.mime.starts_with("text/")) return false;
  std::string_view d = object.data;
  return d.starts_with("begin ") || d.find("\nbegin ") != std::string_view::npos;
}

std::vector<UuBlock> DecodeUuencoded(std::string_view text, size_t max_blocks) {
  std::vector<UuBlock> blocks;
  size_t pos = 0;
  UuBlock* cur = nullptr;
  while (pos < text.size() && blocks.size() <= max_blocks) {
    size_t eol = text.find('\n', pos);
    size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    std::string_view line = text.substr(pos, (eol == std::string_view::npos ? text.size() : eol) - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = next;
    if (cur == nullptr) {
      std::string name = BeginName(line);
      if (!name.empty()) {
        if (blocks.size() == max_blocks) break;
        blocks.push_back({std::move(name), {}});
        cur = &blocks.back();
      }
      continue;
    }
    if (line == "end") {
      cur = nullptr;
      continue;
    }
    DecodeLine(line, cur->data);
  }
  return blocks;
}

void UuencodeUnpacker::Analyze(const Object& object, AnalyzerOutput& out) {
  for (auto& block : DecodeUuencoded(object.data)) {
    if (block.data.empty()) continue;
    if (!out.AddChild(std::move(block.name), std::move(block.data))) return;
  }
}

}  // namespace airlock::scan
