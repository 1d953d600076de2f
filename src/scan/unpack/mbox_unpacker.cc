#include "scan/unpack/mbox_unpacker.h"

namespace airlock::scan {

bool MboxUnpacker::Accepts(const Object& object) const {
  return object.data.starts_with("From ") || object.mime == "application/mbox";
}

std::vector<std::string_view> SplitMbox(std::string_view data) {
  std::vector<std::string_view> messages;
  size_t pos = 0;
  size_t msg_start = std::string_view::npos;
  bool prev_blank = true;
  while (pos < data.size()) {
    size_t eol = data.find('\n', pos);
    size_t next = eol == std::string_view::npos ? data.size() : eol + 1;
    std::string_view line = data.substr(pos, next - pos);
    if (prev_blank && line.starts_with("From ")) {
      if (msg_start != std::string_view::npos) messages.push_back(data.substr(msg_start, pos - msg_start));
      msg_start = next;
    }
    prev_blank = line == "\n" || line == "\r\n";
    pos = next;
  }
  if (msg_start != std::string_view::npos && msg_start < data.size()) messages.push_back(data.substr(msg_start));
  return messages;
}

void MboxUnpacker::Analyze(const Object& object, AnalyzerOutput& out) {
  auto messages = SplitMbox(object.data);
  size_t n = 0;
  for (auto m : messages) {
    if (out.TimeUp()) return;
    if (!out.AddChild("message-" + std::to_string(++n) + ".eml", std::string(m))) return;
  }
}

}  // namespace airlock::scan
