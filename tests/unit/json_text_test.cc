// core/json_text.h: bytes from outside become valid UTF-8 with invalid bytes as \xNN, and DumpJson
// writes any document (invalid strings, invalid keys, ordered or not) without throwing.
#include "core/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace airlock;
using nlohmann::json;

namespace {

// The inverse of Utf8Text for text without a literal backslash: \xNN back to the byte.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      out += static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

TEST(JsonText, ValidUtf8IsKeptAsItIs) {
  for (std::string s : {"", "plain ascii", "/tmp/\xc3\xa9t\xc3\xa9", "\xe2\x82\xac\xf0\x9f\x92\xa3", "a\\xffb"}) {
    EXPECT_TRUE(IsUtf8(s)) << s;
    EXPECT_EQ(Utf8Text(s), s);
  }
}

TEST(JsonText, InvalidBytesBecomeEscapesOneByOne) {
  EXPECT_FALSE(IsUtf8("\xff"));
  EXPECT_EQ(Utf8Text("\xff"), "\\xff");
  EXPECT_EQ(Utf8Text("a\x80z"), "a\\x80z");
  EXPECT_EQ(Utf8Text("cut \xe2\x82"), "cut \\xe2\\x82");            // truncated sequence
  EXPECT_EQ(Utf8Text("\xc0\xaf"), "\\xc0\\xaf");                    // overlong
  EXPECT_EQ(Utf8Text("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // surrogate
  EXPECT_EQ(Utf8Text("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(Utf8Text("\xe2\x28\xa1"), "\\xe2(\\xa1");
  EXPECT_EQ(Utf8Text(std::string("nul\0\xfe", 5)), std::string("nul\0\\xfe", 8));
  // Every byte value: the result is valid UTF-8 and comes back byte for byte.
  std::string all;
  for (int c = 0; c < 256; ++c)
    if (c != '\\') all += static_cast<char>(c);
  const std::string text = Utf8Text(all);
  EXPECT_TRUE(IsUtf8(text));
  EXPECT_EQ(Unescape(text), all);
}

TEST(JsonText, JsonStringIsAValidLiteral) {
  std::string out;
  AppendJsonString(out, "q\"b\\n\n\x01\xff\xc3\xa9");
  EXPECT_EQ(out, "\"q\\\"b\\\\n\\n\\u0001\\\\xff\xc3\xa9\"");
  EXPECT_EQ(json::parse(out).get<std::string>(), "q\"b\\n\n\x01\\xff\xc3\xa9");
}

TEST(JsonText, DumpWritesInvalidStringsAndKeysAsEscapes) {
  json j = {{"name", "evil\xff.txt"}, {"list", {"ok", "\xc0"}}, {"nested", {{"k\xfe", "v"}, {"n", 1}}}};
  std::string text;
  ASSERT_NO_THROW(text = DumpJson(j, 2));
  json back = json::parse(text);  // strict parser: valid UTF-8
  EXPECT_EQ(back["name"], "evil\\xff.txt");
  EXPECT_EQ(back["list"][1], "\\xc0");
  EXPECT_EQ(back["nested"]["k\\xfe"], "v");
  EXPECT_EQ(back["nested"]["n"], 1);
  // A valid document is written exactly as nlohmann writes it.
  json ok = {{"a", "\xc3\xa9"}, {"b", {1, 2}}};
  EXPECT_EQ(DumpJson(ok), ok.dump());
  EXPECT_EQ(DumpJson(ok, 2), ok.dump(2));
}

TEST(JsonText, OrderedDocumentsToo) {
  nlohmann::ordered_json j;
  j["z"] = "\xff";
  j["a"] = 1;
  auto back = json::parse(DumpJson(j));
  EXPECT_EQ(back["z"], "\\xff");
  EXPECT_EQ(DumpJson(j).find("\"z\""), 1u);  // order kept
}

TEST(JsonText, MakeJsonUtf8FixesTheDocumentInPlace) {
  json j = {{"\xff", {"\xfe", {{"x", "\x80"}}}}};
  MakeJsonUtf8(j);
  EXPECT_EQ(j.dump(), R"({"\\xff":["\\xfe",{"x":"\\x80"}]})");
}
