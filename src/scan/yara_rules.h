// YARA rules: the project's rules (rules/yara/*.yar) plus user rule directories, compiled once and
// cached as $XDG_CACHE_HOME/airlock/yara-<sha256 of the rule files>.bin (falls back to ~/.cache).
// A matching rule becomes a finding "yara.<rule>" with the rule's meta:
//   severity (int 0..10, default 5), technique (string, comma-separated ATT&CK IDs), description.
// Thread safety: Scan() may be called from several threads at once (libyara allows up to 32). Each
// concurrent Scan() borrows a YR_SCANNER from a small pool, created once and reused for every object.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "scan/analyzer.h"

struct YR_RULES;
struct YR_SCAN_CONTEXT;  // libyara's YR_SCANNER

namespace airlock::scan {

class YaraRules {
 public:
  // Compiles every *.yar / *.yara file directly under each of `dirs` (sorted). An empty `cache_dir`
  // disables the cache. Fails on a rule syntax error (message names the file and line).
  static Result<std::unique_ptr<YaraRules>> Load(const std::vector<std::string>& dirs,
                                                 const std::string& cache_dir);
  // Rules compiled by Save (airlock scan's host side hands them to its sandbox, which never compiles
  // and never writes a cache): the file must be one this program wrote, never one from an input.
  static Result<std::unique_ptr<YaraRules>> LoadCompiled(const std::string& path);
  // Writes the compiled rules to `path` (yr_rules_save).
  Status Save(const std::string& path) const;
  ~YaraRules();
  YaraRules(const YaraRules&) = delete;
  YaraRules& operator=(const YaraRules&) = delete;

  // Findings for every rule matching `data`. Never throws; a scan error is an info finding.
  std::vector<Finding> Scan(std::string_view data) const;

  size_t file_count() const { return file_count_; }
  bool loaded_from_cache() const { return from_cache_; }
  const std::string& cache_path() const { return cache_path_; }

 private:
  YaraRules() = default;
  YR_SCAN_CONTEXT* TakeScanner() const;  // from the pool, or a new one; nullptr on failure
  void ReturnScanner(YR_SCAN_CONTEXT* scanner) const;
  YR_RULES* rules_ = nullptr;
  mutable std::mutex pool_mu_;
  mutable std::vector<YR_SCAN_CONTEXT*> pool_;  // idle scanners (destroyed before the rules)
  size_t file_count_ = 0;
  bool from_cache_ = false;
  std::string cache_path_;
};

// $XDG_CACHE_HOME/airlock, else $HOME/.cache/airlock, else "" (no cache).
std::string DefaultCacheDir();

}  // namespace airlock::scan
