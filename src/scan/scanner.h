// One `airlock-scan` run: expands inputs (directories recursively, never following symlinks; "-" is
// stdin), loads YARA rules and the block-list once, scans inputs in parallel (`jobs` threads, one
// Engine each) and assembles the ScanReport in input order.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "scan/limits.h"
#include "scan/report.h"
#include "scan/yara_rules.h"

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
  // Inside the scan's sandbox (scan/confined_scan.h): the inputs come from the host's broker on this
  // descriptor (scan/input_broker.h) instead of `inputs`, and the rules compiled by the host from this
  // file (YaraRules::LoadCompiled) instead of rule directories; no project block-list is looked up.
  int broker_fd = -1;
  std::string compiled_rules;
};

// Fails only on setup errors (rules that do not compile, unusable extract dir, missing block-list);
// unreadable inputs are per-input errors inside the report.
Result<ScanReport> RunScan(const ScanOptions& options);

// The YARA rules of `options`: the compiled ones handed in (compiled_rules), or those of the rule
// directories (the project's unless default_rules is off, plus rule_dirs; compiled or from the cache),
// or none (a null pointer).
Result<std::unique_ptr<YaraRules>> LoadScanRules(const ScanOptions& options);
// The block-list file: `blocklist`, else the project's rules/blocklist.sha256 when there is one (not
// when the rules or inputs were handed in: the host hands the block-list in too), else "".
std::string ScanBlocklistPath(const ScanOptions& options);

// Files under the inputs: regular files as given, directories walked recursively (sorted, symlinks
// skipped), "-" kept. Nonexistent paths are kept so that they are reported as errors.
std::vector<std::string> ExpandInputs(const std::vector<std::string>& inputs);

// The project's rules directory (containing yara/ and blocklist.sha256): installed copy beside the
// executable (../../share/airlock/rules from libexec/airlock), else the source tree's; env
// AIRLOCK_RULES_DIR overrides.
std::string ProjectRulesDir();

}  // namespace airlock::scan
