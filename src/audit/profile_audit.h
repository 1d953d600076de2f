// Grades an airlock policy (built-in profile or profile TOML file) against airlock's hardening
// baseline: host namespaces, writable/sensitive host paths, device binds, seccomp groups allowed back,
// seccomp/Landlock requirements, resource limits, nested user namespaces, secrets in the
// environment, outside uid 0, passed fds. See docs/AUDIT.md for the check table.
#pragma once

#include <functional>
#include <string>

#include "audit/finding.h"
#include "core/error.h"
#include "policy/policy.h"

namespace airlock::audit {

// Returns "FILE:LINE" where profile key `key` ("seccomp.mode") was set, or "" when unknown. When
// `value` is non-empty and the key is an array, the location of that entry.
using KeyLocator = std::function<std::string(const std::string& key, const std::string& value)>;

// Pure: grades `policy`; `locate` may be empty (no line numbers in evidence).
TargetReport AuditPolicy(const Policy& policy, const KeyLocator& locate);

// Loads `name_or_path` with LoadProfile (cwd resolves "." binds) and grades it, with file:line
// evidence from the profile sources. Errors (unreadable file, bad TOML) name the file and line.
Result<TargetReport> AuditProfile(const std::string& name_or_path, const std::string& cwd);

}  // namespace airlock::audit
