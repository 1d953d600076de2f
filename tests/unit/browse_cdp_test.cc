// The CDP pipe framing (NUL-separated JSON) and message parsing used by airlock-browse.
#include <gtest/gtest.h>

#include "analyze/browse_cdp.h"

using namespace airlock::analyze::cdp;
using nlohmann::json;

TEST(BrowseCdpFramer, SplitsOnNulAcrossArbitraryChunks) {
  const std::string stream = std::string("{\"id\":1,\"result\":{}}") + '\0' + "{\"method\":\"Page.loadEventFired\"}" + '\0' +
                             "{\"id\":2";
  // Feed one byte at a time: messages only come out when their NUL has arrived.
  Framer f;
  std::vector<std::string> got;
  for (char c : stream) {
    ASSERT_TRUE(f.Feed(std::string_view(&c, 1)));
    while (auto m = f.Next()) got.push_back(*m);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "{\"id\":1,\"result\":{}}");
  EXPECT_EQ(got[1], "{\"method\":\"Page.loadEventFired\"}");
  EXPECT_EQ(f.buffered(), 7u);  // the unterminated {"id":2
  ASSERT_TRUE(f.Feed(std::string_view(",\"result\":{}}\0", 14)));
  auto last = f.Next();
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, "{\"id\":2,\"result\":{}}");
  EXPECT_FALSE(f.Next());
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(BrowseCdpFramer, ManyMessagesInOneChunkAndEmptyMessages) {
  Framer f;
  std::string chunk;
  for (int i = 0; i < 1000; ++i) chunk += "{\"id\":" + std::to_string(i) + "}" + std::string(1, '\0');
  chunk += std::string(1, '\0');  // an empty message is passed on (and then fails to parse)
  ASSERT_TRUE(f.Feed(chunk));
  int n = 0;
  std::optional<std::string> m;
  while ((m = f.Next()) && !m->empty()) ++n;
  EXPECT_EQ(n, 1000);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->empty());
  EXPECT_FALSE(ParseMessage(*m));
}

TEST(BrowseCdpFramer, RefusesAnUnterminatedMessageOverTheLimit) {
  Framer f(64);
  ASSERT_TRUE(f.Feed(std::string(60, 'x') + '\0'));  // terminated: fine even near the limit
  ASSERT_TRUE(f.Feed(std::string(64, 'y')));           // exactly at the limit, still waiting
  auto s = f.Feed("y");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().What().find("64 bytes"), std::string::npos);
  EXPECT_EQ(f.Next()->size(), 60u);
}

TEST(BrowseCdpEncode, CommandIsNulTerminatedJsonWithSession) {
  std::string s = EncodeCommand(7, "Page.navigate", {{"url", "file:///sample/a.html"}}, "SESSION1");
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.back(), '\0');
  EXPECT_EQ(s.find('\0'), s.size() - 1) << "exactly one NUL, at the end";
  json j = json::parse(s.substr(0, s.size() - 1));
  EXPECT_EQ(j["id"], 7);
  EXPECT_EQ(j["method"], "Page.navigate");
  EXPECT_EQ(j["params"]["url"], "file:///sample/a.html");
  EXPECT_EQ(j["sessionId"], "SESSION1");
  json browser = json::parse(EncodeCommand(1, "Browser.close").c_str());
  EXPECT_FALSE(browser.contains("sessionId"));
  EXPECT_TRUE(browser["params"].is_object());
}

TEST(BrowseCdpEncode, InvalidUtf8InParamsDoesNotThrow) {
  std::string s;
  EXPECT_NO_THROW(s = EncodeCommand(1, "Page.navigate", {{"url", std::string("file:///\xff\xfe")}}));
  json j;
  EXPECT_NO_THROW(j = json::parse(s.substr(0, s.size() - 1)));
  EXPECT_EQ(j["method"], "Page.navigate");
}

TEST(BrowseCdpParse, RepliesEventsAndErrors) {
  auto reply = ParseMessage(R"({"id":4,"result":{"sessionId":"S"},"sessionId":"X"})");
  ASSERT_TRUE(reply);
  ASSERT_TRUE(reply->is_reply());
  EXPECT_EQ(*reply->id, 4);
  EXPECT_EQ(reply->result["sessionId"], "S");
  EXPECT_EQ(reply->session_id, "X");
  EXPECT_TRUE(reply->error.empty());

  auto err = ParseMessage(R"({"id":8,"error":{"code":-32000,"message":"Cannot navigate to invalid URL"}})");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->error, "Cannot navigate to invalid URL");

  auto ev = ParseMessage(R"({"method":"Browser.downloadWillBegin","params":{"guid":"g","url":"blob:null/1"}})");
  ASSERT_TRUE(ev);
  EXPECT_FALSE(ev->is_reply());
  EXPECT_EQ(ev->method, "Browser.downloadWillBegin");
  EXPECT_EQ(ev->params["guid"], "g");

  EXPECT_FALSE(ParseMessage("not json"));
  EXPECT_FALSE(ParseMessage("[1,2]"));
  EXPECT_FALSE(ParseMessage(R"({"params":{}})"));       // neither id nor method
  EXPECT_FALSE(ParseMessage(R"({"id":"1","result":{}})"));  // id must be an integer
}
