// The sinkhole's HTTP request-head parser and byte escaping (src/net/http_request.h).
#include <gtest/gtest.h>

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
