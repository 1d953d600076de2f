// Profiles: TOML files with `include = ["base", "other.toml"]` inheritance, validated with
// line-numbered errors, plus built-in profiles compiled into the binary (default, workdir, network...).
// See docs/PROFILES.md for the format.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"

namespace airlock {

struct BuiltinProfile {
  std::string name;
  std::string description;
  std::string toml;  // the source text, as compiled in
};

const std::vector<BuiltinProfile>& BuiltinProfiles();

// The host ids the sandboxes of `profile` run as for this caller: the caller itself, or, when root
// runs airlock, the profile's unprivileged outside ids (identity.outside_uid/gid_when_root). A
// directory such a sandbox must write (analyze's work area, a box import's staging) is chowned to them.
struct HostIds {
  uid_t uid = 0;
  gid_t gid = 0;
};
Result<HostIds> SandboxHostIds(const std::string& profile);
// Names and texts of the built-in profiles, without parsing them (cheap identity checks).
std::vector<std::pair<std::string_view, std::string_view>> BuiltinProfileSources();

// Loads a profile by built-in name or by file path (anything containing '/' or ending in .toml is a
// path). Includes are resolved relative to the including file, or as built-in names. Include cycles,
// unknown keys, wrong types and bad values are errors that name the file and line.
// `cwd` resolves "workdir"-style relative binds ("." => current directory).
Result<Policy> LoadProfile(const std::string& name_or_path, const std::string& cwd);

// Parses profile text (for tests and built-ins); `origin` names it in errors.
Result<Policy> LoadProfileFromString(const std::string& toml, const std::string& origin, const std::string& cwd);

// Serialises a policy back to TOML (for `airlock profile show` of the effective policy).
std::string PolicyToToml(const Policy& policy);

// Parses sizes like "64m", "1G", "512k", "1048576" into bytes.
Result<uint64_t> ParseSize(const std::string& text);
// Parses a memory limit: a size ("512m"), a share of the host's RAM ("25%"), the smallest of several
// ("min(25%, 4g)") or "unlimited" (nullopt). Percentages are resolved now, against MemTotal.
Result<std::optional<uint64_t>> ParseMemoryLimit(const std::string& text);
// Parses a count limit (--pids): a whole number or "unlimited" (nullopt).
Result<std::optional<uint64_t>> ParseCountLimit(const std::string& text);
// Parses durations like "30s", "500ms", "2m", "10" (seconds).
Result<std::chrono::milliseconds> ParseDuration(const std::string& text);

}  // namespace airlock
