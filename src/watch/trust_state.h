// What the gate knows, in memory: the trust sources (trust_policy.h), the verdicts by SHA-256 and
// the decision cache. The gate answers from this alone (never SQLite, never a log write).
//
// Contract: the dpkg index, allow-list and watched directories are fixed at construction (read-only,
// no lock). Verdicts are behind a shared mutex: the gate's threads read, the daemon's judge workers
// and its database poller write (ReplaceVerdicts swaps the whole map after a reload).
#pragma once

#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "watch/decision_cache.h"
#include "watch/trust_policy.h"

namespace airlock::watch {

class TrustState {
 public:
  TrustState(DpkgIndex dpkg, AllowList allow, std::vector<std::string> watched_dirs, PathAliases aliases)
      : dpkg_(std::move(dpkg)), allow_(std::move(allow)), watched_(std::move(watched_dirs)), aliases_(std::move(aliases)) {}

  Classification Classify(const FileFacts& f) const { return watch::Classify(f, dpkg_, allow_, watched_); }
  std::string Canonical(std::string_view path) const { return CanonicalPath(path, aliases_); }
  bool ContentAllowListed(const std::string& sha) const { return allow_.sha256.contains(sha); }
  bool Watched(std::string_view path) const { return UnderAny(watched_, path); }
  const std::vector<std::string>& watched_dirs() const { return watched_; }
  size_t dpkg_files() const { return dpkg_.md5.size(); }

  Verdict VerdictOf(const std::string& sha) const {
    std::shared_lock lock(mu_);
    auto it = verdicts_.find(sha);
    return it == verdicts_.end() ? Verdict::kUnknown : it->second;
  }
  void SetVerdict(const std::string& sha, Verdict v) {
    std::unique_lock lock(mu_);
    verdicts_[sha] = v;
  }
  void ReplaceVerdicts(std::unordered_map<std::string, Verdict> all) {
    std::unique_lock lock(mu_);
    verdicts_ = std::move(all);
  }
  size_t VerdictCount() const {
    std::shared_lock lock(mu_);
    return verdicts_.size();
  }

  DecisionCache& cache() { return cache_; }

 private:
  const DpkgIndex dpkg_;
  const AllowList allow_;
  const std::vector<std::string> watched_;
  const PathAliases aliases_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Verdict> verdicts_;
  DecisionCache cache_;
};

}  // namespace airlock::watch
