#include "scan/blocklist.h"

#include <cctype>
#include <sstream>

#include "scan/file_util.h"

namespace airlock::scan {

Blocklist Blocklist::Parse(const std::string& text) {
  Blocklist b;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t i = 0;
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i >= line.size() || line[i] == '#') continue;
    std::string hex;
    while (i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i]))) {
      hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(line[i]))));
      ++i;
    }
    bool ends = i >= line.size() || std::isspace(static_cast<unsigned char>(line[i]));
    if (hex.size() == 64 && ends) b.hashes_.insert(std::move(hex));
  }
  return b;
}

Result<std::unique_ptr<Blocklist>> Blocklist::Load(const std::string& path) {
  auto text = ReadWholeFile(path, 256u << 20);
  if (!text) return std::unexpected(std::move(text.error()).WithContext("blocklist"));
  return std::make_unique<Blocklist>(Parse(*text));
}

}  // namespace airlock::scan
