#include "watch/decision_cache.h"

#include <mutex>
#include <utility>

namespace airlock::watch {

std::optional<CachedDecision> DecisionCache::Find(const FileKey& key) const {
  std::shared_lock lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

void DecisionCache::Put(const FileKey& key, CachedDecision decision) {
  std::unique_lock lock(mu_);
  if (map_.size() >= capacity_ && !map_.contains(key)) map_.clear();
  map_[key] = std::move(decision);
}

void DecisionCache::Clear() {
  std::unique_lock lock(mu_);
  map_.clear();
}

size_t DecisionCache::Size() const {
  std::shared_lock lock(mu_);
  return map_.size();
}

}  // namespace airlock::watch
