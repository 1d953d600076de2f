#include "process/child_error.h"

#include <unistd.h>

#include <cerrno>

namespace airlock {
namespace {
void CopyBounded(char* dst, size_t cap, const char* src) {
  size_t i = 0;
  if (src != nullptr) {
    for (; i + 1 < cap && src[i] != '\0'; ++i) dst[i] = src[i];
  }
  dst[i] = '\0';
}
}  // namespace

void ChildReportError(int fd, const char* stage, const char* detail, int err) {
  ChildErrorRecord rec{};
  rec.err = err;
  CopyBounded(rec.stage, sizeof rec.stage, stage);
  CopyBounded(rec.detail, sizeof rec.detail, detail);
  const char* p = reinterpret_cast<const char*>(&rec);
  size_t left = sizeof rec;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void ChildFail(int fd, const char* stage, const char* detail, int err) {
  ChildReportError(fd, stage, detail, err);
  _exit(kChildSetupExit);
}

}  // namespace airlock
