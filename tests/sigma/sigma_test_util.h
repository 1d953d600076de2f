// Small helpers shared by the Sigma tests: build a rule from a detection snippet and match events.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "sigma/rule.h"

namespace airlock::sigma::test {

// Wraps `detection` (YAML lines, indented by 4) into a process_creation rule.
inline std::string RuleYaml(const std::string& detection, const std::string& category = "process_creation") {
  return "title: test rule\nid: 00000000-0000-0000-0000-000000000001\nlevel: high\n"
         "tags:\n  - attack.execution\n  - attack.t1059.004\n"
         "logsource:\n  product: linux\n  category: " +
         category + "\ndetection:\n" + detection;
}

inline Rule MustParse(const std::string& yaml) {
  auto r = ParseRules(yaml, "inline.yml");
  if (!r) {
    ADD_FAILURE() << r.error().What();
    return Rule{};
  }
  EXPECT_EQ(r->size(), 1u);
  return std::move(r->front());
}

inline bool Fires(const Rule& rule, const std::string& event_json) {
  return rule.Matches(nlohmann::json::parse(event_json));
}

}  // namespace airlock::sigma::test
