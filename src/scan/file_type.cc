#include "scan/file_type.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "scan/magic_numbers.h"
#include "scan/plain_text.h"

namespace airlock::scan {

Result<FileTyper*> FileTyper::Create() {
  auto typer = std::unique_ptr<FileTyper>(new FileTyper());
  typer->mime_ = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
  typer->desc_ = magic_open(MAGIC_NONE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
  if (typer->mime_ == nullptr || typer->desc_ == nullptr) return ErrnoError("magic_open");
  if (magic_load(typer->mime_, nullptr) != 0 || magic_load(typer->desc_, nullptr) != 0) {
    return MakeError(std::string("magic_load: ") + (magic_error(typer->mime_) ? magic_error(typer->mime_) : "?"));
  }
  return typer.release();
}

FileTyper* FileTyper::Shared() {
  // One per thread: libmagic dominates the scan's CPU time, so -j N must not serialize on one cookie.
  thread_local std::unique_ptr<FileTyper> mine = [] {
    auto t = Create();
    return std::unique_ptr<FileTyper>(t ? *t : nullptr);
  }();
  return mine.get();
}

FileTyper::~FileTyper() {
  if (mime_ != nullptr) magic_close(mime_);
  if (desc_ != nullptr) magic_close(desc_);
}

FileTyper::Type FileTyper::Identify(std::string_view data) {
  // libmagic only looks at a bounded prefix anyway; cap what we hand it.
  size_t n = std::min<size_t>(data.size(), 8u << 20);
  Type t;
  if (auto known = TypeByMagicNumbers(data.substr(0, n))) {
    // Zip, gzip, OOXML part XML, HTML: libmagic's exact answer from the leading bytes (magic_numbers.h).
    t.mime = std::move(known->mime);
    t.description = std::move(known->description);
    return t;
  }
  if (LooksLikePlainProse(data.substr(0, n))) {
    // Prose that libmagic could only call text/plain: skip its ~1 ms of failing text rules (plain_text.h).
    t.mime = "text/plain";
    t.description = "text";
    return t;
  }
  if (auto mail = PlainMailDescription(data.substr(0, n))) {
    t.mime = "message/rfc822";  // and libmagic's exact description, without its two ~1 ms passes
    t.description = std::move(*mail);
    return t;
  }
  std::lock_guard lock(mu_);
  // Repeated small objects (the same [Content_Types].xml in every .docx, logos, signatures): the
  // cache holds the bytes themselves, so a hit is an exact match, never a hash collision.
  const bool cacheable = n <= kMaxCachedObject;
  if (cacheable) {
    if (auto it = cache_.find(std::string(data.substr(0, n))); it != cache_.end()) return it->second;
  }
  t = LibmagicType(data.substr(0, n));
  if (cacheable) {
    if (cache_bytes_ + n > kMaxCacheBytes) {
      cache_.clear();
      cache_bytes_ = 0;
    }
    cache_bytes_ += n;
    cache_.emplace(std::string(data.substr(0, n)), t);
  }
  return t;
}

FileTyper::Type FileTyper::LibmagicType(std::string_view data) {
  const size_t n = data.size();
  Type t;
  const char* m = magic_buffer(mime_, data.data(), n);
  t.mime = m != nullptr ? m : "application/octet-stream";
  if (t.mime == "text/plain") {
    // libmagic's second pass over plain text (regex-heavy soft magic) costs as much as the first and
    // only says which text encoding it is; nothing downstream uses it (docs/SCAN.md "Parallelism and cost").
    t.description = "text";
    return t;
  }
  const char* d = magic_buffer(desc_, data.data(), n);
  t.description = d != nullptr ? d : "data";
  return t;
}

}  // namespace airlock::scan
