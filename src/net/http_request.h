// The first bytes of a sinkholed connection: an HTTP/1.x request head parsed into the fields the
// report shows (Method, Url, Host, UserAgent), and any bytes escaped for a JSON/HTML-safe record.
// Pure functions over bytes, no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace airlock {

struct HttpRequestHead {
  std::string method;      // "GET", "POST", ...
  std::string target;      // as sent: "/path?q" or an absolute URL (proxy form)
  std::string version;     // "HTTP/1.1"
  std::string host;        // Host header ("" if absent)
  std::string user_agent;  // User-Agent header
  std::optional<size_t> content_length;
  size_t head_size = 0;    // bytes up to and including the blank line; 0 if the head is incomplete
  // http://HOST/TARGET (the target itself when it is already absolute); HOST falls back to
  // `fallback_host` (e.g. the destination IP) when the request has no Host header.
  std::string Url(std::string_view fallback_host) const;
};

// Parses an HTTP/1.x request line and headers from `data` (possibly incomplete). nullopt when the
// bytes are not an HTTP request (the request line does not have the form "TOKEN SP TARGET SP HTTP/").
std::optional<HttpRequestHead> ParseHttpRequest(std::string_view data);

// The server name (SNI) of a TLS ClientHello at the start of `data`; "" when the bytes are not a
// ClientHello or carry no host_name entry. Every length is checked against the bytes present.
std::string TlsServerName(std::string_view data);

// Printable ASCII kept, backslash and everything else as \xNN, \r \n \t as such; at most `max`
// input bytes.
std::string EscapeBytes(std::string_view data, size_t max = 4096);

}  // namespace airlock
