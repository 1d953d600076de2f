// The condition grammar, evaluated over explicit truth assignments, plus rule-level parse errors,
// unsupported constructs and hostile input.
#include <gtest/gtest.h>

#include "sigma/condition.h"
#include "sigma_test_util.h"

namespace airlock::sigma::test {
namespace {

const std::vector<std::string> kIds = {"sel_a", "sel_b", "filter_x", "filter_y", "_hidden", "kw"};

// Evaluates `cond` with identifiers whose bit in `mask` is set being true.
bool EvalMask(const std::string& cond, unsigned mask) {
  auto n = ParseCondition(cond, kIds);
  if (!n) {
    ADD_FAILURE() << cond << ": " << n.error().message;
    return false;
  }
  return n->Eval([&](int i) { return ((mask >> i) & 1u) != 0; });
}

constexpr unsigned A = 1, B = 2, FX = 4, FY = 8, H = 16, KW = 32;

TEST(SigmaCondition, PrecedenceNotAndOr) {
  EXPECT_TRUE(EvalMask("sel_a or sel_b and filter_x", A));
  EXPECT_FALSE(EvalMask("(sel_a or sel_b) and filter_x", A));
  EXPECT_TRUE(EvalMask("sel_a and not filter_x", A));
  EXPECT_FALSE(EvalMask("sel_a and not filter_x", A | FX));
  EXPECT_TRUE(EvalMask("not sel_a and sel_b", B));      // (not a) and b
  EXPECT_FALSE(EvalMask("not (sel_a and sel_b)", A | B));
  EXPECT_TRUE(EvalMask("not not sel_a", A));
  EXPECT_TRUE(EvalMask("sel_a AND NOT filter_x", A));  // keywords are case-insensitive
  EXPECT_FALSE(ParseCondition("SEL_A", kIds));          // identifiers are not
}

TEST(SigmaCondition, OneOfAllOfThem) {
  EXPECT_TRUE(EvalMask("1 of sel_*", B));
  EXPECT_FALSE(EvalMask("1 of sel_*", FX));
  EXPECT_FALSE(EvalMask("all of sel_*", A));
  EXPECT_TRUE(EvalMask("all of sel_*", A | B));
  EXPECT_TRUE(EvalMask("all of sel_* and not 1 of filter_*", A | B));
  EXPECT_FALSE(EvalMask("all of sel_* and not 1 of filter_*", A | B | FY));
  EXPECT_TRUE(EvalMask("1 of them", KW));
  EXPECT_FALSE(EvalMask("1 of them", H));  // them skips identifiers starting with '_'
  EXPECT_TRUE(EvalMask("all of them", A | B | FX | FY | KW));
  EXPECT_TRUE(EvalMask("1 of *", H));
  EXPECT_TRUE(EvalMask("1 of sel_a", A));
}

TEST(SigmaCondition, SyntaxErrors) {
  for (const char* bad : {"", "sel_a and", "(sel_a", "sel_a)", "nosuch", "2 of sel_*", "1 of nomatch*",
                          "sel_a sel_b", "and sel_a", "1 of"}) {
    auto n = ParseCondition(bad, kIds);
    ASSERT_FALSE(n) << bad;
    EXPECT_FALSE(n.error().unsupported) << bad;
  }
}

TEST(SigmaCondition, AggregationIsUnsupportedNotAnError) {
  auto n = ParseCondition("sel_a | count() by Image > 5", kIds);
  ASSERT_FALSE(n);
  EXPECT_TRUE(n.error().unsupported);
  Rule r = MustParse(RuleYaml("    sel:\n        Image: x\n    condition: sel | count() > 3\n"));
  EXPECT_FALSE(r.supported);
  EXPECT_NE(r.unsupported_reason.find("aggregation"), std::string::npos);
  EXPECT_FALSE(Fires(r, R"({"Image":"x"})"));
}

TEST(SigmaCondition, DeepNestingIsBounded) {
  std::string deep(10000, '(');
  deep += "sel_a";
  deep += std::string(10000, ')');
  EXPECT_FALSE(ParseCondition(deep, kIds));
  std::string nots;
  for (int i = 0; i < 10000; ++i) nots += "not ";
  EXPECT_FALSE(ParseCondition(nots + "sel_a", kIds));
  std::string ok(30, '(');
  EXPECT_TRUE(ParseCondition(ok + "sel_a" + std::string(30, ')'), kIds));
}

TEST(SigmaRuleParse, MetadataAndTechniques) {
  Rule r = MustParse(RuleYaml("    sel:\n        Image: x\n    condition: sel\n"));
  EXPECT_EQ(r.title, "test rule");
  EXPECT_EQ(r.level, "high");
  ASSERT_EQ(r.techniques.size(), 1u);
  EXPECT_EQ(r.techniques[0], "T1059.004");
  EXPECT_EQ(TechniqueFromTag("attack.t1611"), "T1611");
  EXPECT_EQ(TechniqueFromTag("attack.execution"), "");
  EXPECT_EQ(TechniqueFromTag("attack.t1059.00"), "");
  EXPECT_EQ(TechniqueFromTag("attack.s0508"), "");
}

TEST(SigmaRuleParse, ConditionListIsOr) {
  Rule r = MustParse(RuleYaml("    a:\n        Image: x\n    b:\n        Image: y\n    condition:\n        - a\n        - b\n"));
  EXPECT_TRUE(Fires(r, R"({"Image":"y"})"));
  EXPECT_FALSE(Fires(r, R"({"Image":"z"})"));
}

TEST(SigmaRuleParse, UnsupportedLogSourcesAndExpand) {
  auto parse = [](const std::string& yaml) { return MustParse(yaml); };
  Rule svc = parse("title: t\nlogsource:\n  product: linux\n  service: auditd\ndetection:\n  s:\n    a: b\n  condition: s\n");
  EXPECT_FALSE(svc.supported);
  EXPECT_NE(svc.unsupported_reason.find("auditd"), std::string::npos);
  Rule win = parse("title: t\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  s:\n    a: b\n  condition: s\n");
  EXPECT_FALSE(win.supported);
  Rule cat = parse("title: t\nlogsource:\n  product: linux\n  category: image_load\ndetection:\n  s:\n    a: b\n  condition: s\n");
  EXPECT_FALSE(cat.supported);
  EXPECT_NE(cat.unsupported_reason.find("image_load"), std::string::npos);
  Rule exp = parse(RuleYaml("    sel:\n        Image|expand: '%admin%'\n    condition: sel\n"));
  EXPECT_FALSE(exp.supported);
  EXPECT_NE(exp.unsupported_reason.find("expand"), std::string::npos);
  Rule dns = parse(RuleYaml("    sel:\n        QueryName|endswith: '.onion'\n    condition: sel\n", "dns_query"));
  EXPECT_TRUE(dns.supported);
}

TEST(SigmaRuleParse, BadInputIsAnErrorNotACrash) {
  const std::string cases[] = {
      "",
      "just a string",
      "title: t\n",
      "title: t\nlogsource: {product: linux, category: process_creation}\ndetection: 5\n",
      "title: t\nlogsource: {product: linux, category: process_creation}\ndetection:\n  s: {}\n  condition: s\n",
      "title: t\nlogsource: {product: linux, category: process_creation}\ndetection:\n  s:\n    a: b\n",
      "title: t\nlogsource: {product: linux, category: process_creation}\ndetection:\n  s:\n    a: {x: y}\n  condition: s\n",
      "title: [unclosed\n",
      "title: t\nlogsource: {product: linux, category: process_creation}\ndetection:\n  s: [[[1]]]\n  condition: s\n",
      std::string(100, '[') + std::string(100, ']'),
      std::string(5000, '-') + " x\n",
      "title: t\nx: [a#" + std::string(20000, '[') + "\n",
      "title: don't " + std::string(20000, '[') + "\n",
      "title: \"a\\\"\" " + std::string(20000, '{') + "\n",
      "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n",
      std::string("title: \0\xff\xfe\n", 12),
  };
  for (const auto& c : cases) {
    auto r = ParseRules(c, "bad.yml");
    EXPECT_FALSE(r) << c.substr(0, 60);
    if (!r) {
      EXPECT_NE(r.error().What().find("bad.yml"), std::string::npos) << r.error().What();
    }
  }
  EXPECT_FALSE(ParseRules(std::string(kMaxRuleBytes + 1, '#'), "big.yml"));
}

}  // namespace
}  // namespace airlock::sigma::test
