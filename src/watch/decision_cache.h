// The gate's decision cache: what the gate knows about one version of one file, answered from memory.
//
// Contract:
//  - Keyed by FileKey (device, inode, change time in nanoseconds). Any write, chmod, chown, rename
//    onto or xattr change of the file moves its ctime, so a changed file is a miss and is looked at
//    again; an unchanged file is never rehashed.
//  - An entry says why the file is trusted (dpkg-verified, allow-listed) or names its SHA-256, whose
//    verdict the caller looks up in its in-memory trust map (so a verdict arriving later applies to
//    every cached key of that content at once, without touching this cache).
//  - Bounded: at `capacity` entries the cache is cleared (a cheap, predictable bound; a miss costs a
//    rehash, never a wrong answer). Thread-safe: readers share a lock, writers take it exclusively.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace airlock::watch {

struct FileKey {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileKey&) const = default;
};

// The key of a file's current version (device, inode, change time).
inline FileKey FileKeyOf(const struct stat& st) {
  return FileKey{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                 static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
}

struct FileKeyHash {
  size_t operator()(const FileKey& k) const {
    uint64_t h = k.dev * 0x9E3779B97F4A7C15ull ^ k.ino;
    h ^= static_cast<uint64_t>(k.ctime_ns) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return static_cast<size_t>(h);
  }
};

// Why a cached file is what it is.
enum class Basis { kDpkg, kAllowList, kContent };

struct CachedDecision {
  Basis basis = Basis::kContent;
  std::string sha256;  // kContent: the content's hash (hex); else empty
  bool watched = false;  // lies in a watched directory or has an origin xattr
};

class DecisionCache {
 public:
  explicit DecisionCache(size_t capacity = 1u << 16) : capacity_(capacity) {}

  std::optional<CachedDecision> Find(const FileKey& key) const;
  void Put(const FileKey& key, CachedDecision decision);
  void Clear();
  size_t Size() const;

 private:
  size_t capacity_;
  mutable std::shared_mutex mu_;
  std::unordered_map<FileKey, CachedDecision, FileKeyHash> map_;
};

}  // namespace airlock::watch
