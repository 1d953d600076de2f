// Object typing with libmagic: MIME type and description. The magic database is loaded once per
// FileTyper; Identify() is thread-safe (libmagic cookies are not, so calls on one FileTyper are
// serialized). Shared() gives each thread its own FileTyper, loaded on the thread's first use.
#pragma once

#include <magic.h>

#include <mutex>
#include <string>
#include <string_view>

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
  std::mutex mu_;
  magic_t mime_ = nullptr;
  magic_t desc_ = nullptr;
};

}  // namespace airlock::scan
