// The monitor's JSON-lines writer: every line parses as JSON, strings survive escaping, and bytes
// that are not UTF-8 are written as the text \xNN (core/json_text.h).
#include "monitor/json_line.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace airlock;

namespace {

std::string Line(std::string_view value) {
  std::string buf;
  JsonLine(buf).Str("k", value).Int("n", -42).Finish();
  return buf;
}

}  // namespace

TEST(MonitorJsonLine, WritesAFlatObjectThatParses) {
  std::string buf;
  JsonLine(buf).Str("category", "file_event").Int("EventID", 11).Int("Big", 1LL << 40).Str("Empty", "").Finish();
  EXPECT_EQ(buf, R"({"category":"file_event","EventID":11,"Big":1099511627776,"Empty":""})");
  auto j = nlohmann::json::parse(buf);
  EXPECT_EQ(j["EventID"], 11);
  // The buffer is reused: a new line replaces the old one.
  JsonLine(buf).Str("a", "b").Finish();
  EXPECT_EQ(buf, R"({"a":"b"})");
}

TEST(MonitorJsonLine, EscapesQuotesBackslashesAndControlCharacters) {
  const std::string tricky = std::string("a\"b\\c\n\r\t\b\f") + '\x01' + '\x1f' + std::string(1, '\0') + "end";
  std::string line = Line(tricky);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["k"].get<std::string>(), tricky);
  EXPECT_EQ(j["n"], -42);
}

TEST(MonitorJsonLine, KeepsValidUtf8AndWritesInvalidBytesAsEscapes) {
  // core/json_text.h's rule: every byte that is not part of valid UTF-8 becomes the text \xNN.
  const std::vector<std::pair<std::string, std::string>> samples = {
      {"/tmp/\xc3\xa9t\xc3\xa9", "/tmp/\xc3\xa9t\xc3\xa9"},                      // valid 2-byte
      {"\xe2\x82\xac \xf0\x9f\x92\xa3", "\xe2\x82\xac \xf0\x9f\x92\xa3"},        // valid 3- and 4-byte
      {"bad \xff byte", "bad \\xff byte"},                                        // invalid lead byte
      {"cut \xe2\x82", "cut \\xe2\\x82"},                                         // truncated at the end
      {"\xc0\xaf overlong", "\\xc0\\xaf overlong"},                               // overlong '/'
      {"\xed\xa0\x80 surrogate", "\\xed\\xa0\\x80 surrogate"},                    // UTF-16 surrogate
      {"\xf4\x90\x80\x80 too big", "\\xf4\\x90\\x80\\x80 too big"},               // above U+10FFFF
      {"\x80\x80 stray", "\\x80\\x80 stray"},                                     // stray continuations
      {"\xe2\x28\xa1 bad second", "\\xe2(\\xa1 bad second"},                      // bad second byte
      {"\xf0\x9f\x92x truncated", "\\xf0\\x9f\\x92x truncated"},                  // truncated inside
  };
  for (const auto& [in, want] : samples) {
    const std::string line = Line(in);
    auto j = nlohmann::json::parse(line);  // strict: throws on invalid UTF-8
    EXPECT_EQ(j["k"].get<std::string>(), want) << line;
  }
}
