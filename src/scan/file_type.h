// Object typing with libmagic: MIME type and description. The magic database is loaded once per
// FileTyper; Identify() is thread-safe (libmagic cookies are not, so calls on one FileTyper are
// serialized). Shared() gives each thread its own FileTyper, loaded on the thread's first use.
// libmagic costs 0.2-1 ms per object, so Identify() first tries exact shortcuts that give libmagic's
// own answer: formats with unambiguous leading bytes (magic_numbers.h), plain prose and plain RFC 822
// mail (plain_text.h), then a cache of libmagic's answers
// for small objects seen before (keyed by the bytes, at most 4 MiB per thread).
#pragma once

#include <magic.h>

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error.h"

namespace airlock::scan {

class FileTyper {
 public:
  static Result<FileTyper*> Create();  // owned by the caller (delete) -- see Shared()
  // The calling thread's instance, loaded on first use; nullptr when the database cannot be loaded.
  static FileTyper* Shared();
  ~FileTyper();
  FileTyper(const FileTyper&) = delete;
  FileTyper& operator=(const FileTyper&) = delete;

  struct Type {
    std::string mime;
    std::string description;  // libmagic's; just "text" for text/plain (saves a second libmagic pass)
  };
  Type Identify(std::string_view data);

 private:
  FileTyper() = default;
  Type LibmagicType(std::string_view data);  // two libmagic passes (one for text/plain); mu_ held

  static constexpr size_t kMaxCachedObject = 16u << 10;
  static constexpr size_t kMaxCacheBytes = 4u << 20;
  std::mutex mu_;
  std::unordered_map<std::string, Type> cache_;  // object bytes -> libmagic's answer
  size_t cache_bytes_ = 0;
  magic_t mime_ = nullptr;
  magic_t desc_ = nullptr;
};

}  // namespace airlock::scan
