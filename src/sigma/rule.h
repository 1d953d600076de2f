// A Sigma rule parsed from YAML and compiled into a matcher tree:
//   Rule -> condition tree over Searches -> alternatives (OR) -> field conditions (AND)
//        -> values (OR, or AND with |all) -> ValueMatcher.
//
// Contract:
//  - ParseRules() never throws and never crashes on hostile YAML: inputs over kMaxRuleBytes or
//    nested deeper than kMaxYamlDepth are rejected; every problem is an Error naming the rule part.
//  - A rule that parses but uses a construct or log source airlock does not implement is returned
//    with supported == false and a one-line reason; it never matches.
//  - Rule::Matches() is const and thread-safe; it does not allocate for string/number fields.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sigma/condition.h"
#include "sigma/value_matcher.h"

namespace airlock::sigma {

inline constexpr size_t kMaxRuleBytes = 1 << 20;
inline constexpr int kMaxYamlDepth = 32;

// One `Field|mods: values` entry. An empty field means a keyword search over all event values.
struct FieldCondition {
  std::string field;
  bool all = false;  // |all: every value must match (default: any)
  std::vector<ValueMatcher> values;
  bool Matches(const nlohmann::json& event) const;
};

// A named search identifier: a list of alternatives (OR), each a list of field conditions (AND).
struct Search {
  std::string name;
  std::vector<std::vector<FieldCondition>> alternatives;
  bool Matches(const nlohmann::json& event) const;
};

struct LogSource {
  std::string product, category, service;
};

struct Rule {
  std::string origin;  // file the rule came from
  std::string title, id, status, level, description;
  std::vector<std::string> tags;
  std::vector<std::string> techniques;  // "T1059.004" from attack.t1059.004
  LogSource logsource;
  std::vector<Search> searches;
  CondNode condition;  // OR of the condition list
  bool supported = true;
  std::string unsupported_reason;

  bool Matches(const nlohmann::json& event) const;
};

// The event categories airlock's behaviour monitor emits (product linux).
const std::vector<std::string>& SupportedCategories();

// Parses every YAML document in `text` (one rule each). `origin` is used in error messages.
Result<std::vector<Rule>> ParseRules(std::string_view text, const std::string& origin);

// "attack.t1059.004" -> "T1059.004"; empty for tags that are not technique IDs.
std::string TechniqueFromTag(std::string_view tag);

}  // namespace airlock::sigma
