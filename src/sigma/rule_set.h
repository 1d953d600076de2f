// A loaded collection of Sigma rules and the one entry point the behaviour monitor needs:
//
//   sigma::RuleSet rules;
//   if (auto s = rules.LoadDirectory("rules/behavior"); !s) ...   // only fails if DIR is unreadable
//   for (const auto& m : rules.Match(event)) ... m.rule->id, m.rule->techniques ...
//
// Contract:
//  - Loading never throws. Per-file parse errors and unsupported rules are recorded in report(),
//    never silently skipped.
//  - Match() is const and may be called from several threads at once after loading is done.
//    Events are matched only against rules whose logsource category equals event["category"]; an
//    event without a string "category" is matched against every supported rule.
//  - Returned Match pointers stay valid while the RuleSet lives and no more rules are loaded.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sigma/rule.h"

namespace airlock::sigma {

struct RuleMatch {
  const Rule* rule = nullptr;
};

struct LoadReport {
  struct Problem {
    std::string file, id, title, reason;
  };
  size_t files = 0;
  size_t loaded = 0;     // rules parsed without error
  size_t supported = 0;  // of those, rules airlock can evaluate
  std::vector<Problem> unsupported;
  std::vector<Problem> errors;  // files that failed to parse (id/title empty)
};

class RuleSet {
 public:
  // Loads every *.yml / *.yaml file under dir, recursively, in sorted path order.
  Status LoadDirectory(const std::string& dir);
  // Loads one file (errors are recorded in report() and also returned).
  Status LoadFile(const std::string& path);
  // Loads rules from YAML text; `origin` names them in reports.
  Status LoadText(std::string_view yaml, const std::string& origin);

  std::vector<RuleMatch> Match(const nlohmann::json& event) const;

  const LoadReport& report() const { return report_; }
  const std::vector<std::unique_ptr<Rule>>& rules() const { return rules_; }

 private:
  void Add(std::unique_ptr<Rule> rule);

  std::vector<std::unique_ptr<Rule>> rules_;  // all parsed rules, supported or not
  std::map<std::string, std::vector<const Rule*>, std::less<>> by_category_;
  std::vector<const Rule*> supported_;
  LoadReport report_;
};

// The report as JSON (used by `airlock-rules check --json`).
nlohmann::json ReportToJson(const LoadReport& r);
// A match as one JSON object (used by `airlock-rules match`).
nlohmann::json MatchToJson(const Rule& rule, const nlohmann::json& event);

}  // namespace airlock::sigma
