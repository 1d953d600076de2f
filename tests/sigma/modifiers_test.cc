// Value comparison and field modifiers, through whole rules so the YAML-to-matcher path is covered.
#include <gtest/gtest.h>

#include "sigma/value_matcher.h"
#include "sigma_test_util.h"

namespace airlock::sigma::test {
namespace {

Rule Det(const std::string& detection, const std::string& category = "process_creation") {
  return MustParse(RuleYaml(detection, category));
}

TEST(SigmaValues, PlainValueIsCaseInsensitiveExact) {
  Rule r = Det("    sel:\n        Image: '/usr/bin/Curl'\n    condition: sel\n");
  EXPECT_TRUE(Fires(r, R"({"Image":"/USR/BIN/curl"})"));
  EXPECT_FALSE(Fires(r, R"({"Image":"/usr/bin/curl2"})"));
  EXPECT_FALSE(Fires(r, R"({"Image":"x/usr/bin/curl"})"));
  EXPECT_FALSE(Fires(r, R"({"Other":"/usr/bin/curl"})"));
}

TEST(SigmaValues, WildcardsAndEscapes) {
  Rule r = Det("    sel:\n        CommandLine: 'a*b?c'\n    condition: sel\n");
  EXPECT_TRUE(Fires(r, R"({"CommandLine":"aXXXbYc"})"));
  EXPECT_TRUE(Fires(r, R"({"CommandLine":"abzc"})"));
  EXPECT_FALSE(Fires(r, R"({"CommandLine":"abc"})"));
  EXPECT_FALSE(Fires(r, R"({"CommandLine":"aXbYcZ"})"));
  Rule lit = Det("    sel:\n        CommandLine: 'a\\*b\\?\\\\*'\n    condition: sel\n");  // a\*b\?\\*
  EXPECT_TRUE(Fires(lit, R"({"CommandLine":"a*b?\\tail"})"));
  EXPECT_FALSE(Fires(lit, R"({"CommandLine":"aXb?\\tail"})"));
  EXPECT_FALSE(Fires(lit, R"({"CommandLine":"a*bX\\tail"})"));
  Rule other = Det("    sel:\n        CommandLine: 'C:\\Windows'\n    condition: sel\n");
  EXPECT_TRUE(Fires(other, R"({"CommandLine":"c:\\windows"})"));
}

TEST(SigmaValues, ContainsStartsEndsAndWildcardsInside) {
  Rule c = Det("    sel:\n        CommandLine|contains: 'base64 -d'\n    condition: sel\n");
  EXPECT_TRUE(Fires(c, R"({"CommandLine":"echo x | BASE64 -D | sh"})"));
  EXPECT_FALSE(Fires(c, R"({"CommandLine":"base64 --decode"})"));
  Rule s = Det("    sel:\n        Image|startswith: '/tmp/'\n    condition: sel\n");
  EXPECT_TRUE(Fires(s, R"({"Image":"/tmp/x"})"));
  EXPECT_FALSE(Fires(s, R"({"Image":"/var/tmp/x"})"));
  Rule e = Det("    sel:\n        Image|endswith: '/nc'\n    condition: sel\n");
  EXPECT_TRUE(Fires(e, R"({"Image":"/bin/nc"})"));
  EXPECT_FALSE(Fires(e, R"({"Image":"/bin/ncat"})"));
  Rule g = Det("    sel:\n        CommandLine|contains: 'wget * http'\n    condition: sel\n");
  EXPECT_TRUE(Fires(g, R"({"CommandLine":"sudo wget -q http://x"})"));
  EXPECT_FALSE(Fires(g, R"({"CommandLine":"wget ftp://x"})"));
}

TEST(SigmaValues, ListsAreOrAndAllIsAnd) {
  Rule any = Det("    sel:\n        CommandLine|contains:\n            - 'aaa'\n            - 'bbb'\n    condition: sel\n");
  EXPECT_TRUE(Fires(any, R"({"CommandLine":"xbbbx"})"));
  EXPECT_FALSE(Fires(any, R"({"CommandLine":"xccx"})"));
  Rule all = Det("    sel:\n        CommandLine|contains|all:\n            - 'aaa'\n            - 'bbb'\n    condition: sel\n");
  EXPECT_TRUE(Fires(all, R"({"CommandLine":"bbb aaa"})"));
  EXPECT_FALSE(Fires(all, R"({"CommandLine":"bbb"})"));
  Rule list_of_maps = Det(
      "    sel:\n        - Image|endswith: '/a'\n        - CommandLine|contains: 'b'\n    condition: sel\n");
  EXPECT_TRUE(Fires(list_of_maps, R"({"Image":"/x/a"})"));
  EXPECT_TRUE(Fires(list_of_maps, R"({"CommandLine":"abc"})"));
  EXPECT_FALSE(Fires(list_of_maps, R"({"Image":"/x/c","CommandLine":"x"})"));
}

TEST(SigmaValues, RegexIsCaseSensitiveUnlessI) {
  Rule r = Det("    sel:\n        CommandLine|re: '\\s-O\\s'\n    condition: sel\n");
  EXPECT_TRUE(Fires(r, R"({"CommandLine":"wget -O /tmp/x"})"));
  EXPECT_FALSE(Fires(r, R"({"CommandLine":"wget -o /tmp/x"})"));
  Rule ri = Det("    sel:\n        CommandLine|re|i: '^wget\\s'\n    condition: sel\n");
  EXPECT_TRUE(Fires(ri, R"({"CommandLine":"WGET x"})"));
  Rule rs = Det("    sel:\n        CommandLine|re|s: 'a.b'\n    condition: sel\n");
  EXPECT_TRUE(Fires(rs, "{\"CommandLine\":\"a\\nb\"}"));
  Rule rnos = Det("    sel:\n        CommandLine|re: 'a.b'\n    condition: sel\n");
  EXPECT_FALSE(Fires(rnos, "{\"CommandLine\":\"a\\nb\"}"));
  Rule rm = Det("    sel:\n        CommandLine|re|m: '^b$'\n    condition: sel\n");
  EXPECT_TRUE(Fires(rm, "{\"CommandLine\":\"a\\nb\"}"));
  EXPECT_FALSE(ParseRules(RuleYaml("    sel:\n        CommandLine|re: '(unclosed'\n    condition: sel\n"), "x"));
}

TEST(SigmaValues, CidrV4AndV6) {
  Rule r = Det("    sel:\n        DestinationIp|cidr:\n            - '10.0.0.0/8'\n            - 'fd00::/8'\n"
               "            - '192.168.1.77/30'\n    condition: sel\n");
  EXPECT_TRUE(Fires(r, R"({"DestinationIp":"10.200.3.4"})"));
  EXPECT_TRUE(Fires(r, R"({"DestinationIp":"fd12:3456::1"})"));
  EXPECT_TRUE(Fires(r, R"({"DestinationIp":"192.168.1.78"})"));
  EXPECT_FALSE(Fires(r, R"({"DestinationIp":"192.168.1.80"})"));
  EXPECT_FALSE(Fires(r, R"({"DestinationIp":"11.0.0.1"})"));
  EXPECT_FALSE(Fires(r, R"({"DestinationIp":"fe80::1"})"));
  EXPECT_FALSE(Fires(r, R"({"DestinationIp":"not an ip"})"));
  EXPECT_FALSE(ParseRules(RuleYaml("    sel:\n        DestinationIp|cidr: '10.0.0.0/33'\n    condition: sel\n"), "x"));
}

TEST(SigmaValues, ExistsAndNull) {
  Rule ex = Det("    sel:\n        ParentImage|exists: true\n    condition: sel\n");
  EXPECT_TRUE(Fires(ex, R"({"ParentImage":"/bin/sh"})"));
  EXPECT_FALSE(Fires(ex, R"({"Image":"/bin/sh"})"));
  Rule nex = Det("    sel:\n        ParentImage|exists: false\n    condition: sel\n");
  EXPECT_TRUE(Fires(nex, R"({"Image":"/bin/sh"})"));
  EXPECT_FALSE(Fires(nex, R"({"ParentImage":"/bin/sh"})"));
  Rule null = Det("    sel:\n        User: null\n    condition: sel\n");
  EXPECT_TRUE(Fires(null, R"({"Image":"x"})"));
  EXPECT_TRUE(Fires(null, R"({"User":null})"));
  EXPECT_FALSE(Fires(null, R"({"User":""})"));
  Rule empty = Det("    sel:\n        User: ''\n    condition: sel\n");
  EXPECT_TRUE(Fires(empty, R"({"User":""})"));
  EXPECT_FALSE(Fires(empty, R"({"Image":"x"})"));
}

TEST(SigmaValues, NumbersBoolsAndComparisons) {
  Rule n = Det("    sel:\n        DestinationPort: 4444\n    condition: sel\n");
  EXPECT_TRUE(Fires(n, R"({"DestinationPort":4444})"));
  EXPECT_TRUE(Fires(n, R"({"DestinationPort":"4444"})"));
  EXPECT_FALSE(Fires(n, R"({"DestinationPort":44444})"));
  Rule b = Det("    sel:\n        Initiated: 'true'\n    condition: sel\n");
  EXPECT_TRUE(Fires(b, R"({"Initiated":true})"));
  EXPECT_TRUE(Fires(b, R"({"Initiated":"True"})"));
  EXPECT_FALSE(Fires(b, R"({"Initiated":false})"));
  Rule lt = Det("    sel:\n        DestinationPort|lt: 1024\n    condition: sel\n");
  EXPECT_TRUE(Fires(lt, R"({"DestinationPort":22})"));
  EXPECT_TRUE(Fires(lt, R"({"DestinationPort":"80"})"));
  EXPECT_FALSE(Fires(lt, R"({"DestinationPort":1024})"));
  EXPECT_FALSE(Fires(lt, R"({"DestinationPort":"abc"})"));
  Rule gte = Det("    sel:\n        DestinationPort|gte: 1024\n    condition: sel\n");
  EXPECT_TRUE(Fires(gte, R"({"DestinationPort":1024})"));
  EXPECT_FALSE(Fires(gte, R"({"DestinationPort":1023.5})"));
  EXPECT_FALSE(ParseRules(RuleYaml("    sel:\n        DestinationPort|gt: abc\n    condition: sel\n"), "x"));
}

TEST(SigmaValues, Base64AndOffsets) {
  EXPECT_EQ(Base64Encode("ab"), "YWI=");
  EXPECT_EQ(Base64Encode("abc"), "YWJj");
  EXPECT_EQ(Base64Encode("abcd"), "YWJjZA==");
  // "/bin/sh" embedded at each of the three offsets of a longer encoded stream.
  Rule r = Det("    sel:\n        CommandLine|base64offset|contains: '/bin/sh'\n    condition: sel\n");
  for (std::string prefix : {"", "x", "xy", "xyz"}) {
    std::string enc = Base64Encode(prefix + "/bin/sh -i");
    EXPECT_TRUE(Fires(r, nlohmann::json{{"CommandLine", "echo " + enc}}.dump())) << prefix;
  }
  EXPECT_FALSE(Fires(r, nlohmann::json{{"CommandLine", Base64Encode("/bin/bash")}}.dump()));
  Rule b = Det("    sel:\n        CommandLine|base64|contains: 'curl'\n    condition: sel\n");
  EXPECT_TRUE(Fires(b, nlohmann::json{{"CommandLine", "x " + Base64Encode("curl")}}.dump()));
  EXPECT_FALSE(Fires(b, nlohmann::json{{"CommandLine", "x " + Base64Encode("wget")}}.dump()));
  Rule w = Det("    sel:\n        CommandLine|wide|base64: 'ab'\n    condition: sel\n");
  EXPECT_TRUE(Fires(w, nlohmann::json{{"CommandLine", Base64Encode(std::string("a\0b\0", 4))}}.dump()));
}

TEST(SigmaValues, Windash) {
  Rule r = Det("    sel:\n        CommandLine|windash|contains: ' -enc '\n    condition: sel\n");
  EXPECT_TRUE(Fires(r, R"({"CommandLine":"x -enc y"})"));
  EXPECT_TRUE(Fires(r, R"({"CommandLine":"x /enc y"})"));
  EXPECT_TRUE(Fires(r, "{\"CommandLine\":\"x \xe2\x80\x93" "enc y\"}"));
  EXPECT_FALSE(Fires(r, R"({"CommandLine":"x +enc y"})"));
}

TEST(SigmaValues, CasedAndFieldref) {
  Rule c = Det("    sel:\n        CommandLine|cased|contains: 'ABC'\n    condition: sel\n");
  EXPECT_TRUE(Fires(c, R"({"CommandLine":"xABCx"})"));
  EXPECT_FALSE(Fires(c, R"({"CommandLine":"xabcx"})"));
  Rule f = Det("    sel:\n        Image|fieldref: ParentImage\n    condition: sel\n");
  EXPECT_TRUE(Fires(f, R"({"Image":"/bin/sh","ParentImage":"/bin/sh"})"));
  EXPECT_FALSE(Fires(f, R"({"Image":"/bin/sh","ParentImage":"/bin/bash"})"));
}

TEST(SigmaValues, KeywordsSearchAllFields) {
  Rule r = Det("    keywords:\n        - 'xmrig'\n        - 'stratum+tcp'\n    condition: keywords\n");
  EXPECT_TRUE(Fires(r, R"({"Image":"/tmp/XMRig","CommandLine":"a"})"));
  EXPECT_TRUE(Fires(r, R"({"CommandLine":"-o stratum+tcp://pool"})"));
  EXPECT_FALSE(Fires(r, R"({"CommandLine":"ls","category":"xmrig"})"));
  Rule all = Det("    keywords:\n        '|all':\n            - 'foo'\n            - 'bar'\n    condition: keywords\n");
  EXPECT_TRUE(Fires(all, R"({"A":"foo","B":"bar"})"));
  EXPECT_FALSE(Fires(all, R"({"A":"foo"})"));
}

TEST(SigmaValues, ArraysAndNestedFields) {
  Rule r = Det("    sel:\n        Args|contains: 'CLONE_NEWUSER'\n    condition: sel\n", "syscall");
  EXPECT_TRUE(Fires(r, R"({"Args":["0x1","CLONE_NEWUSER|CLONE_NEWNS"]})"));
  EXPECT_FALSE(Fires(r, R"({"Args":["0x1"]})"));
  Rule n = Det("    sel:\n        process.name: 'sh'\n    condition: sel\n");
  EXPECT_TRUE(Fires(n, R"({"process":{"name":"sh"}})"));
  EXPECT_FALSE(Fires(n, R"({"process":{"name":"bash"}})"));
  EXPECT_FALSE(Fires(n, R"({"process":"sh"})"));
}

TEST(SigmaValues, ModifierErrors) {
  for (const char* bad : {"Image|nosuchmod: x", "Image|contains|endswith: x", "Image|wide: x",
                          "Image|re|contains: x", "Image|exists: maybe", "Image|base64|base64offset: x"}) {
    auto r = ParseRules(RuleYaml(std::string("    sel:\n        ") + bad + "\n    condition: sel\n"), "bad.yml");
    EXPECT_FALSE(r) << bad;
  }
}

}  // namespace
}  // namespace airlock::sigma::test
