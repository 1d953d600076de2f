#include "net/http_request.h"

#include <fmt/format.h>

#include <cctype>

namespace airlock {
namespace {

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '!' || c == '~';
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<HttpRequestHead> ParseHttpRequest(std::string_view data) {
  size_t eol = data.find('\n');
  std::string_view line = data.substr(0, eol == std::string_view::npos ? std::min<size_t>(data.size(), 8192) : eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0 || sp1 > 16) return std::nullopt;
  for (size_t i = 0; i < sp1; ++i)
    if (!IsTokenChar(line[i])) return std::nullopt;
  size_t sp2 = line.rfind(' ');
  if (sp2 == sp1) {
    // The request line is still arriving; accept it only once it is complete.
    return std::nullopt;
  }
  std::string_view version = line.substr(sp2 + 1);
  if (version.substr(0, 5) != "HTTP/") return std::nullopt;
  HttpRequestHead h;
  h.method = std::string(line.substr(0, sp1));
  h.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  h.version = std::string(version);
  if (eol == std::string_view::npos) return h;
  size_t pos = eol + 1;
  while (pos < data.size()) {
    size_t e = data.find('\n', pos);
    if (e == std::string_view::npos) break;  // incomplete header line
    std::string_view hl = data.substr(pos, e - pos);
    if (!hl.empty() && hl.back() == '\r') hl.remove_suffix(1);
    pos = e + 1;
    if (hl.empty()) {
      h.head_size = pos;
      break;
    }
    size_t colon = hl.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = hl.substr(0, colon);
    std::string_view value = Trim(hl.substr(colon + 1));
    if (IEquals(name, "Host")) {
      h.host = std::string(value);
    } else if (IEquals(name, "User-Agent")) {
      h.user_agent = std::string(value);
    } else if (IEquals(name, "Content-Length")) {
      size_t n = 0;
      bool ok = !value.empty() && value.size() <= 12;
      for (char c : value) {
        if (c < '0' || c > '9') ok = false;
        else n = n * 10 + static_cast<size_t>(c - '0');
      }
      if (ok) h.content_length = n;
    }
  }
  return h;
}

std::string HttpRequestHead::Url(std::string_view fallback_host) const {
  if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) return target;
  std::string host_part = host.empty() ? std::string(fallback_host) : host;
  if (method == "CONNECT") return target;
  return "http://" + host_part + (target.empty() || target[0] != '/' ? "/" : "") + target;
}

std::string TlsServerName(std::string_view d) {
  auto u8 = [&](size_t at) { return static_cast<size_t>(static_cast<unsigned char>(d[at])); };
  auto u16 = [&](size_t at) { return (u8(at) << 8) | u8(at + 1); };
  // Record header: handshake (22), version 3.x, length; handshake header: ClientHello (1), length.
  if (d.size() < 9 || u8(0) != 22 || u8(1) != 3 || u8(5) != 1) return "";
  size_t end = std::min(d.size(), 5 + u16(3));
  size_t i = 9 + 2 + 32;  // client_version, random
  if (i + 1 > end) return "";
  i += 1 + u8(i);  // session_id
  if (i + 2 > end) return "";
  i += 2 + u16(i);  // cipher_suites
  if (i + 1 > end) return "";
  i += 1 + u8(i);  // compression_methods
  if (i + 2 > end) return "";
  size_t ext_end = std::min(end, i + 2 + u16(i));
  i += 2;
  while (i + 4 <= ext_end) {
    size_t type = u16(i), len = u16(i + 2);
    size_t body = i + 4;
    if (body + len > ext_end) return "";
    if (type == 0 && len >= 5) {  // server_name: list length, then (name_type, length, name)...
      size_t j = body + 2, list_end = std::min(body + len, body + 2 + u16(body));
      while (j + 3 <= list_end) {
        size_t nlen = u16(j + 1);
        if (j + 3 + nlen > list_end) return "";
        if (u8(j) == 0) return std::string(d.substr(j + 3, nlen));
        j += 3 + nlen;
      }
      return "";
    }
    i = body + len;
  }
  return "";
}

std::string EscapeBytes(std::string_view data, size_t max) {
  std::string out;
  size_t n = std::min(data.size(), max);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(data[i]);
    if (c == '\\') out += "\\\\";
    else if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

}  // namespace airlock
