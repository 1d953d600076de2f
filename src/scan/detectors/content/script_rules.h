// The rule table of the script detector: each rule is one to three RE2 patterns (all must match,
// case-insensitive) plus the finding it produces. Several rules may share one finding id (different
// spellings of the same behaviour); the detector reports each id once, with the first rule's text.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::scan::content {

struct ScriptRule {
  std::string_view id;
  int severity;
  std::string_view title;
  std::string_view explanation;
  std::string_view patterns[3];      // empty entries unused; evidence comes from patterns[0]
  std::string_view techniques[2];    // empty entries unused
  int min_count = 1;                 // patterns[0] must match at least this many times
  std::string_view suppressed_by;    // not reported when this (stronger) id was already reported
};

std::span<const ScriptRule> ScriptRules();
// Rules whose patterns RE2 rejects, as "id: error" (empty when all compile). The detector skips
// such rules; tests assert this list is empty.
std::vector<std::string> BrokenScriptRules();

}  // namespace airlock::scan::content
