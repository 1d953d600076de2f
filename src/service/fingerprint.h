// What a verdict depends on besides the sample (docs/SERVICE.md "Reproducible verdicts"): the policy
// hash (SHA-256 over the TOML of the `analysis` and `default` profiles as this installation loads
// them: the detonation's and the sandboxed scan's), the rules hash (SHA-256 over every regular file
// under the rule directory: relative path, size and content, in path order), airlock's version and
// the versions of the scanner libraries it was built against (YARA, libmagic, libarchive: a rule or
// a file type can match differently across them).
// `serve` computes it to make dedupe keys; each worker computes its own and refuses work whose
// fingerprint differs (another version or rule set would not reproduce the verdict).
#pragma once

#include <string>

#include "core/error.h"
#include "service/task_model.h"

namespace airlock::service {

// The rule directory analyze uses (core/helper_path.h FindRulesDir).
std::string ServiceRulesDir();
Result<std::string> RulesHash(const std::string& rules_dir);
Result<Fingerprint> ComputeFingerprint();

}  // namespace airlock::service
