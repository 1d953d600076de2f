// Test-side event synthesiser: reads a Sigma rule's own YAML detection (independently of the
// engine's compiled tree) and builds events that should, and should not, fire it.
//
//  - Synthesise(): tries truth assignments of the search identifiers that satisfy the condition
//    (fewest true searches first; which ones do is decided by the test's own condition grammar,
//    never by the engine's ParseCondition); for each, builds field values that satisfy the chosen
//    selections' modifiers (contains/startswith/endswith/all/re/cidr/base64/lt.../exists/null) and
//    leaves the other searches unsatisfied; returns the first event the rule really fires on, as
//    judged by `fires`. On failure returns the reason.
//  - Unrelated(): an event of the same category with every referenced field set to an unrelated value.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace airlock::sigma::test {

struct SynthResult {
  bool ok = false;
  nlohmann::json event;
  std::string reason;  // why no event could be built
};

SynthResult Synthesise(const std::string& rule_yaml, const std::function<bool(const nlohmann::json&)>& fires);
nlohmann::json Unrelated(const std::string& rule_yaml);

// Builds a string that RE2 `pattern` partially matches, for the regex subset Sigma rules use
// (literals, escapes, classes, groups with alternation, quantifiers). Empty on failure.
std::string RegexSample(const std::string& pattern);

}  // namespace airlock::sigma::test
