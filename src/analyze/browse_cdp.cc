#include "analyze/browse_cdp.h"

#include <cstring>

#include "core/json_text.h"

namespace airlock::analyze::cdp {

using nlohmann::json;

Status Framer::Feed(std::string_view bytes) {
  // Drop what Next() has already handed out before growing the buffer.
  if (start_ > 0 && start_ >= buf_.size() / 2) {
    buf_.erase(0, start_);
    tail_ -= start_;
    start_ = 0;
  }
  size_t old_size = buf_.size();
  buf_.append(bytes);
  // Only the unterminated tail counts against the limit; look for a NUL in the new bytes only.
  if (size_t nul = bytes.rfind('\0'); nul != std::string_view::npos) tail_ = old_size + nul + 1;
  if (buf_.size() - tail_ > max_) {
    return MakeError("CDP message longer than " + std::to_string(max_) + " bytes without a terminator");
  }
  return Ok();
}

std::optional<std::string> Framer::Next() {
  size_t nul = buf_.find('\0', start_);
  if (nul == std::string::npos) return std::nullopt;
  std::string msg = buf_.substr(start_, nul - start_);
  start_ = nul + 1;
  if (start_ == buf_.size()) {
    buf_.clear();
    start_ = tail_ = 0;
  }
  return msg;
}

std::string EncodeCommand(int64_t id, std::string_view method, const json& params, std::string_view session_id) {
  json cmd = {{"id", id}, {"method", method}, {"params", params.is_null() ? json::object() : params}};
  if (!session_id.empty()) cmd["sessionId"] = session_id;
  std::string out = DumpJson(cmd);
  out.push_back('\0');
  return out;
}

Result<Message> ParseMessage(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return MakeError("CDP message is not a JSON object");
  Message m;
  if (auto it = j.find("sessionId"); it != j.end() && it->is_string()) m.session_id = it->get<std::string>();
  if (auto it = j.find("id"); it != j.end()) {
    if (!it->is_number_integer()) return MakeError("CDP reply id is not an integer");
    m.id = it->get<int64_t>();
    if (auto r = j.find("result"); r != j.end() && r->is_object()) m.result = *r;
    if (auto e = j.find("error"); e != j.end()) {
      m.error = e->is_object() ? e->value("message", std::string("error")) : DumpJson(*e);
      if (m.error.empty()) m.error = "error";
    }
    return m;
  }
  auto method = j.find("method");
  if (method == j.end() || !method->is_string()) return MakeError("CDP message has neither id nor method");
  m.method = method->get<std::string>();
  if (auto p = j.find("params"); p != j.end() && p->is_object()) m.params = *p;
  return m;
}

}  // namespace airlock::analyze::cdp
