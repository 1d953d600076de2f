// One `airlock-scan` run: expands inputs (directories recursively, never following symlinks; "-" is
// stdin), loads YARA rules and the block-list once, scans inputs in parallel (`jobs` threads, one
// Engine each) and assembles the ScanReport in input order.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "scan/limits.h"
#include "scan/report.h"

namespace airlock::scan {

struct ScanOptions {
  std::vector<std::string> inputs;
  ScanLimits limits;
  bool default_rules = true;               // the project's rules/yara
  std::vector<std::string> rule_dirs;      // --rules DIR...
  std::string blocklist;                   // --blocklist FILE; empty: rules/blocklist.sha256 if present
  std::string extract_dir;                 // --extract DIR
  std::string cache_dir = "default";       // "default": DefaultCacheDir(); "": no cache
  int jobs = 1;
  bool progress = false;                   // "[n/N] path" lines on stderr
};

// Fails only on setup errors (rules that do not compile, unusable extract dir, missing block-list);
// unreadable inputs are per-input errors inside the report.
Result<ScanReport> RunScan(const ScanOptions& options);

// Files under the inputs: regular files as given, directories walked recursively (sorted, symlinks
// skipped), "-" kept. Nonexistent paths are kept so that they are reported as errors.
std::vector<std::string> ExpandInputs(const std::vector<std::string>& inputs);

// The project's rules directory (containing yara/ and blocklist.sha256): installed copy beside the
// executable (../../share/airlock/rules from libexec/airlock), else the source tree's; env
// AIRLOCK_RULES_DIR overrides.
std::string ProjectRulesDir();

}  // namespace airlock::scan
