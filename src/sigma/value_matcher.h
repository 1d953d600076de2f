// One compiled comparison of a Sigma rule: a field value with its modifier chain
// (e.g. `CommandLine|base64offset|contains: 'curl'`), turned into something that tests one event
// field value without allocating.
//
// Contract:
//  - Compile once per rule value (CompileValue); Matches() is const, thread-safe and allocation-free
//    (numbers are formatted into a stack buffer; regexes are RE2, linear time).
//  - Matching is ASCII case-insensitive unless `re` or `cased` is given; `re` is case-sensitive
//    unless the `i` sub-modifier is present (Sigma 2.x).
//  - An absent field is passed as nullptr: it matches only `null` values and `exists: false`.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace re2 {
class RE2;
}

namespace airlock::sigma {

// A scalar from the rule YAML. `plain` is false for quoted scalars ('4' is a string, 4 a number).
struct RuleScalar {
  std::string text;
  bool plain = true;
  bool is_null = false;  // YAML null / ~ / empty plain scalar
};

// The modifiers Sigma 2.x defines that change how a value is compared (not `all`, which applies to
// the list of values and is handled by the caller).
struct ModifierChain {
  bool contains = false, startswith = false, endswith = false;
  bool re = false, re_i = false, re_m = false, re_s = false;
  bool cidr = false, exists = false, windash = false;
  bool base64 = false, base64offset = false, cased = false;
  enum class Wide { kNone, kUtf16le, kUtf16be, kUtf16 } wide = Wide::kNone;
  enum class NumCmp { kNone, kLt, kLte, kGt, kGte } numcmp = NumCmp::kNone;
  bool expand = false;    // placeholders: parsed but the rule is reported unsupported
  bool fieldref = false;  // value names another field of the same event
};

class ValueMatcher {
 public:
  ValueMatcher();
  ~ValueMatcher();
  ValueMatcher(ValueMatcher&&) noexcept;
  ValueMatcher& operator=(ValueMatcher&&) noexcept;

  // `event` is only needed for `fieldref`; `value` is the field's value or nullptr when absent.
  bool Matches(const nlohmann::json* value, const nlohmann::json& event) const;

 private:
  friend Result<ValueMatcher> CompileValue(const ModifierChain& mods, const RuleScalar& value);

  enum class Kind { kString, kRegex, kCidr, kExists, kNull, kNumCmp, kFieldRef };
  enum class Shape { kExact, kPrefix, kSuffix, kContains, kGlob };
  struct Pattern {
    Shape shape = Shape::kExact;
    std::string text;   // literal characters (lower-cased unless cased)
    std::string glob;   // for kGlob: per character of text, 'l' literal, '?' one, '*' many
  };

  bool MatchString(std::string_view s) const;
  bool MatchPattern(const Pattern& p, std::string_view s) const;

  Kind kind_ = Kind::kString;
  bool cased_ = false;
  std::vector<Pattern> variants_;  // any variant matching is a match (windash, base64offset)
  std::unique_ptr<re2::RE2> regex_;
  unsigned char net_[16] = {};
  int net_family_ = 0, net_prefix_ = 0;
  bool exists_ = true;
  ModifierChain::NumCmp numcmp_ = ModifierChain::NumCmp::kNone;
  double number_ = 0;
  std::string fieldref_;
};

// Compiles one value. Errors name what is wrong ("invalid regex ...", "cidr: bad network ...").
Result<ValueMatcher> CompileValue(const ModifierChain& mods, const RuleScalar& value);

// Parses "contains|all|re|i ..." (the part after the field name, split on '|'). Sets *all when `all`
// is present. Unknown modifiers are errors.
Result<ModifierChain> ParseModifiers(const std::vector<std::string_view>& names, bool* all);

// Base64 helpers, exposed for tests.
std::string Base64Encode(std::string_view bytes);
// The three shifted encodings Sigma's base64offset produces for a value.
std::vector<std::string> Base64OffsetVariants(std::string_view bytes);

// Renders a JSON scalar as text into buf (numbers, booleans) or returns the string itself; returns
// false for null, arrays and objects. Allocation-free.
bool ScalarText(const nlohmann::json& v, char (&buf)[64], std::string_view* out);

}  // namespace airlock::sigma
