// The sinkhole's HTTP request-head parser and byte escaping (src/net/http_request.h).
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "mutate.h"
#include "net/http_request.h"

using namespace airlock;

TEST(NetHttp, ParsesAGetRequest) {
  std::string req = "GET /payload?x=1 HTTP/1.1\r\nHost: evil.example\r\nUser-Agent: Wget/1.21\r\nAccept: */*\r\n\r\n";
  auto h = ParseHttpRequest(req);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->method, "GET");
  EXPECT_EQ(h->target, "/payload?x=1");
  EXPECT_EQ(h->version, "HTTP/1.1");
  EXPECT_EQ(h->host, "evil.example");
  EXPECT_EQ(h->user_agent, "Wget/1.21");
  EXPECT_EQ(h->head_size, req.size());
  EXPECT_FALSE(h->content_length);
  EXPECT_EQ(h->Url("198.18.0.1"), "http://evil.example/payload?x=1");
}

TEST(NetHttp, PostWithBodyAndCaseInsensitiveHeaders) {
  std::string req = "POST /gate.php HTTP/1.0\nhost: c2.example:8080\ncontent-length: 11\n\nuser=secret";
  auto h = ParseHttpRequest(req);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->method, "POST");
  EXPECT_EQ(h->host, "c2.example:8080");
  ASSERT_TRUE(h->content_length);
  EXPECT_EQ(*h->content_length, 11u);
  EXPECT_EQ(h->head_size, req.size() - 11);
  EXPECT_EQ(h->Url(""), "http://c2.example:8080/gate.php");
}

TEST(NetHttp, IncompleteHeadAndFallbackHost) {
  auto h = ParseHttpRequest("GET /a HTTP/1.1\r\nUser-Agent: x");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->head_size, 0u);  // still arriving
  EXPECT_EQ(h->Url("1.2.3.4"), "http://1.2.3.4/a");
  auto proxy = ParseHttpRequest("GET http://other.example/x HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(proxy);
  EXPECT_EQ(proxy->Url("1.2.3.4"), "http://other.example/x");
}

TEST(NetHttp, NotHttp) {
  EXPECT_FALSE(ParseHttpRequest(""));
  EXPECT_FALSE(ParseHttpRequest("SSH-2.0-OpenSSH_9.2\r\n"));
  EXPECT_FALSE(ParseHttpRequest(std::string("\x16\x03\x01\x02\x00\x01", 6)));  // TLS ClientHello
  EXPECT_FALSE(ParseHttpRequest("GET /incomplete-request-line"));
  EXPECT_FALSE(ParseHttpRequest("G<T / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(ParseHttpRequest("GET / FTP/1.0\r\n\r\n"));
}

TEST(NetHttp, EscapesBytes) {
  EXPECT_EQ(EscapeBytes("GET /\r\n"), "GET /\\r\\n");
  EXPECT_EQ(EscapeBytes(std::string("a\0\xff\\", 4)), "a\\x00\\xff\\\\");
  EXPECT_EQ(EscapeBytes("abcdef", 3), "abc");
}

namespace {

// A minimal TLS 1.2 ClientHello carrying `sni` (or no extensions when empty).
std::string ClientHello(const std::string& sni) {
  std::string ext;
  if (!sni.empty()) {
    std::string entry = std::string(1, '\0') + char(sni.size() >> 8) + char(sni.size() & 0xff) + sni;
    std::string list = std::string(1, char(entry.size() >> 8)) + char(entry.size() & 0xff) + entry;
    ext = std::string("\x00\x00", 2) + char(list.size() >> 8) + char(list.size() & 0xff) + list;
  }
  std::string body = std::string("\x03\x03", 2) + std::string(32, 'r') + std::string(1, '\0') +  // version, random, no session id
                     std::string("\x00\x02\x13\x01", 4) + std::string("\x01\x00", 2) +          // one suite, null compression
                     char(ext.size() >> 8) + char(ext.size() & 0xff) + ext;
  std::string hs = std::string(1, '\x01') + '\0' + char(body.size() >> 8) + char(body.size() & 0xff) + body;
  return std::string("\x16\x03\x01", 3) + char(hs.size() >> 8) + char(hs.size() & 0xff) + hs;
}

}  // namespace

TEST(NetHttp, TlsServerNameFromClientHello) {
  EXPECT_EQ(TlsServerName(ClientHello("c2.evil.example")), "c2.evil.example");
  EXPECT_EQ(TlsServerName(ClientHello("")), "");
  std::string hello = ClientHello("c2.evil.example");
  for (size_t cut = 0; cut < hello.size(); ++cut) EXPECT_EQ(TlsServerName(hello.substr(0, cut)), "") << cut;  // truncated
  EXPECT_EQ(TlsServerName("GET / HTTP/1.1\r\n\r\n"), "");
  std::string bad = hello;
  bad[bad.size() - 16] = '\x7f';  // a name length past the end
  EXPECT_EQ(TlsServerName(bad), "");
}

// --- Malformed and hostile input (issue 11 item 4) ---

TEST(NetHttp, MethodTokenRules) {
  EXPECT_TRUE(ParseHttpRequest(std::string(16, 'M') + " / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(ParseHttpRequest(std::string(17, 'M') + " / HTTP/1.1\r\n\r\n")) << "method longer than 16";
  EXPECT_FALSE(ParseHttpRequest(" GET / HTTP/1.1\r\n\r\n")) << "empty method";
  EXPECT_FALSE(ParseHttpRequest(std::string("G\0T / HTTP/1.1\r\n\r\n", 18)));
  EXPECT_FALSE(ParseHttpRequest("GET\t/ HTTP/1.1\r\n\r\n"));
  auto lower = ParseHttpRequest("get / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(lower);
  EXPECT_EQ(lower->method, "get");
}

TEST(NetHttp, RequestLineWithoutNewline) {
  auto h = ParseHttpRequest("GET /x HTTP/1.1");
  ASSERT_TRUE(h) << "a complete request line is enough";
  EXPECT_EQ(h->target, "/x");
  EXPECT_EQ(h->head_size, 0u);
  // A target with spaces: the version is after the last space.
  auto sp = ParseHttpRequest("GET /a b HTTP/1.0\n\n");
  ASSERT_TRUE(sp);
  EXPECT_EQ(sp->target, "/a b");
  EXPECT_EQ(sp->version, "HTTP/1.0");
}

TEST(NetHttp, OversizeRequestLineIsOnlyLookedAtUpTo8KiBUntilItsNewlineArrives) {
  std::string target = "/" + std::string(10000, 'a');
  // No newline yet: only the first 8 KiB are examined, and they hold no version.
  EXPECT_FALSE(ParseHttpRequest("GET " + target + " HTTP/1.1"));
  auto h = ParseHttpRequest("GET " + target + " HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->target, target);
  EXPECT_EQ(h->head_size, target.size() + 4 + 9 + 4);
}

TEST(NetHttp, HeaderEdgeCases) {
  std::string req =
      "GET / HTTP/1.1\r\n"
      "no colon here\r\n"
      "Host:   spaced.example \t\r\n"
      "X-Host: wrong.example\r\n"
      "User-Agent:\r\n"
      "\r\n"
      "Host: body.example\r\n";
  auto h = ParseHttpRequest(req);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->host, "spaced.example");
  EXPECT_EQ(h->user_agent, "");
  EXPECT_EQ(h->head_size, req.size() - std::string("Host: body.example\r\n").size()) << "the body is not headers";
  // An empty Host header falls back to the destination.
  auto empty = ParseHttpRequest("GET /p HTTP/1.1\r\nHost:\r\n\r\n");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->Url("10.0.0.1"), "http://10.0.0.1/p");
}

TEST(NetHttp, ContentLengthMustBeDigitsOnly) {
  auto cl = [](const std::string& v) { return ParseHttpRequest("POST / HTTP/1.1\r\nContent-Length: " + v + "\r\n\r\n")->content_length; };
  EXPECT_EQ(cl("0"), 0u);
  EXPECT_EQ(cl(" 42 "), 42u);
  EXPECT_EQ(cl("999999999999"), 999999999999u);  // 12 digits
  EXPECT_FALSE(cl("9999999999999")) << "13 digits";
  EXPECT_FALSE(cl("12a"));
  EXPECT_FALSE(cl("+5"));
  EXPECT_FALSE(cl("-1"));
  EXPECT_FALSE(cl(""));
  EXPECT_FALSE(cl("0x10"));
}

TEST(NetHttp, UrlForms) {
  auto connect = ParseHttpRequest("CONNECT c2.example:443 HTTP/1.1\r\nHost: c2.example:443\r\n\r\n");
  ASSERT_TRUE(connect);
  EXPECT_EQ(connect->Url("1.2.3.4"), "c2.example:443");
  auto https = ParseHttpRequest("GET https://secure.example/a HTTP/1.1\r\nHost: other\r\n\r\n");
  ASSERT_TRUE(https);
  EXPECT_EQ(https->Url("1.2.3.4"), "https://secure.example/a");
  auto relative = ParseHttpRequest("GET page.html HTTP/1.1\r\nHost: h.example\r\n\r\n");
  ASSERT_TRUE(relative);
  EXPECT_EQ(relative->Url(""), "http://h.example/page.html");
}

TEST(NetHttp, EscapeBytesEdges) {
  EXPECT_EQ(EscapeBytes("anything", 0), "");
  EXPECT_EQ(EscapeBytes("\t \x7f~"), "\\t \\x7f~");
  EXPECT_EQ(EscapeBytes("\"<script>\""), "\"<script>\"") << "printable ASCII is kept (the JSON writer quotes it)";
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  std::string e = EscapeBytes(all);
  for (char c : e) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);
}

namespace {

std::string Be16(size_t v) { return std::string(1, char((v >> 8) & 0xff)) + char(v & 0xff); }

// A ClientHello with the given session id and raw extensions (type, body), in a record of `record_type`.
std::string Hello(const std::vector<std::pair<int, std::string>>& exts, const std::string& session_id = "",
                  int record_type = 22, int handshake_type = 1) {
  std::string ext;
  for (const auto& [type, body] : exts) ext += Be16(static_cast<size_t>(type)) + Be16(body.size()) + body;
  std::string body = std::string("\x03\x03", 2) + std::string(32, 'r') + char(session_id.size()) + session_id +
                     std::string("\x00\x04\x13\x01\x13\x02", 6) + std::string("\x01\x00", 2) + Be16(ext.size()) + ext;
  std::string hs = std::string(1, char(handshake_type)) + '\0' + Be16(body.size()) + body;
  return std::string(1, char(record_type)) + std::string("\x03\x01", 2) + Be16(hs.size()) + hs;
}

std::string SniBody(const std::vector<std::pair<int, std::string>>& names) {
  std::string list;
  for (const auto& [type, name] : names) list += std::string(1, char(type)) + Be16(name.size()) + name;
  return Be16(list.size()) + list;
}

}  // namespace

TEST(NetHttp, TlsServerNameAfterOtherExtensionsAndASessionId) {
  std::string h = Hello({{10, std::string("\x00\x02\x00\x1d", 4)},  // supported_groups
                         {16, std::string("\x00\x03\x02h2", 5)},      // ALPN
                         {0, SniBody({{0, "c2.evil.example"}})}},
                        std::string(32, 's'));
  EXPECT_EQ(TlsServerName(h), "c2.evil.example");
}

TEST(NetHttp, TlsServerNameSkipsOtherNameTypes) {
  EXPECT_EQ(TlsServerName(Hello({{0, SniBody({{1, "not-a-host"}, {0, "host.example"}})}})), "host.example");
  EXPECT_EQ(TlsServerName(Hello({{0, SniBody({{1, "not-a-host"}})}})), "");
}

TEST(NetHttp, TlsServerNameOddBytesAreReturnedRaw) {
  // The name is bytes from the attacker: returned as sent, for EscapeBytes to make safe.
  std::string odd = std::string("a\0b\xff\n", 5);
  std::string name = TlsServerName(Hello({{0, SniBody({{0, odd}})}}));
  EXPECT_EQ(name, odd);
  EXPECT_EQ(EscapeBytes(name), "a\\x00b\\xff\\n");
}

TEST(NetHttp, TlsServerNameNotAClientHello) {
  std::vector<std::pair<int, std::string>> sni = {{0, SniBody({{0, "x.example"}})}};
  ASSERT_EQ(TlsServerName(Hello(sni)), "x.example");
  EXPECT_EQ(TlsServerName(Hello(sni, "", 23)), "") << "application data record";
  EXPECT_EQ(TlsServerName(Hello(sni, "", 22, 2)), "") << "ServerHello";
  std::string v2 = Hello(sni);
  v2[1] = 2;  // record version 2.x
  EXPECT_EQ(TlsServerName(v2), "");
}

TEST(NetHttp, TlsServerNameLengthsBeyondTheirContainer) {
  std::string h = Hello({{0, SniBody({{0, "x.example"}})}});
  // The record claims fewer bytes than were sent: the name lies beyond the record.
  std::string short_record = h;
  short_record[3] = 0;
  short_record[4] = 60;
  EXPECT_EQ(TlsServerName(short_record), "");
  // A session id length running past the record.
  std::string sid = h;
  sid[9 + 2 + 32] = static_cast<char>(0xff);
  EXPECT_EQ(TlsServerName(sid), "");
  // An extension whose length runs past the extensions block.
  std::string ext = Hello({{0, SniBody({{0, "x.example"}})}, {21, std::string(8, '\0')}});
  ext[ext.size() - 9] = static_cast<char>(0x40);  // padding extension length 8 -> 64
  EXPECT_EQ(TlsServerName(ext), "x.example") << "the name came first and is complete";
  std::string ext_first = Hello({{21, std::string(8, '\0')}, {0, SniBody({{0, "x.example"}})}});
  size_t pad_len_at = ext_first.find(std::string("\x00\x15\x00\x08", 4));
  ASSERT_NE(pad_len_at, std::string::npos);
  ext_first[pad_len_at + 2] = static_cast<char>(0x40);
  EXPECT_EQ(TlsServerName(ext_first), "") << "a bad length before the name stops the walk";
  // A server_name list whose length is shorter than the entry.
  std::string list = Hello({{0, Be16(4) + std::string(1, '\0') + Be16(9) + "x.example"}});
  EXPECT_EQ(TlsServerName(list), "");
}

TEST(NetHttp, TlsServerNameRandomMutationsStayInBounds) {
  std::string base = Hello({{10, std::string("\x00\x02\x00\x1d", 4)}, {0, SniBody({{0, "c2.evil.example"}})}}, "sid");
  airlock::test::ForEachMutation(777, base, 20000, [](int round, const std::string& p) {
    std::string name = TlsServerName(p);
    ASSERT_LE(name.size(), p.size()) << round;
    if (!name.empty()) {
      ASSERT_NE(p.find(name), std::string::npos) << round;
    }
  });
}
