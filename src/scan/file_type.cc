#include "scan/file_type.h"

#include <algorithm>
#include <memory>

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
  std::lock_guard lock(mu_);
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
