// The watched directories, with their subdirectories: every file written, created or moved in is
// handed to the judge (docs/ENDPOINT.md "Watching").
//
// Contract:
//  - One fanotify notification group reporting directory entries (FAN_REPORT_DFID_NAME: the parent
//    directory's file handle and the entry's name; kernel 5.9 or later). Inode marks on each watched
//    directory and on every directory below it (not following symlinks, at most `max_dirs` marks:
//    past that, the rest is logged as not watched; a flat directory: itself, and its subdirectories
//    whose names match `flat_subdirs`, such as a mail client's attachment cache in /tmp) ask for FAN_CLOSE_WRITE and FAN_MOVED_TO of files,
//    and FAN_CREATE, FAN_MOVED_TO and FAN_MOVED_FROM of directories. Inode marks see writes through
//    every mount and from every mount namespace.
//  - A directory created or moved in is marked, then its files are offered (a file written before the
//    mark was in place is not missed); a directory moved out is forgotten (its marks removed).
//  - `offer(path)` must not block; it returns false when the judge's queue is full. A refused offer,
//    or a lost event (the kernel's queue overflowed: FAN_Q_OVERFLOW), starts a sweep: a walk of every
//    watched directory offering each regular file that has no verdict xattr newer than its content
//    (xattr_names.h), paced by the judge's queue (a refused offer is retried, never dropped). The
//    daemon also sweeps once at start, for files that arrived while it was not running.
//  - Build directories (build_trust.h) are marked the same way; a close-write there goes to `built`
//    with the writer's pid, is not judged, and is never swept.
//  - Paths are the daemon's own (its mount namespace), built from the directory it marked and the
//    entry's name; names are kernel bytes, never trusted as text.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

namespace airlock::watch {

struct DirWatcherOptions {
  std::vector<std::string> dirs;       // canonical, each ending in '/'; with their subdirectories
  std::vector<std::string> flat_dirs;  // the same, their own entries only (the default /tmp)...
  std::vector<std::string> flat_subdirs;  // ...and subdirectories with these names (fnmatch), recursively
  std::vector<std::string> build_dirs; // with their subdirectories; writes go to `built`, not the judge
  size_t max_dirs = 8192;
  bool sweep_at_start = true;
};

struct DirWatcherStats {
  std::atomic<uint64_t> events{0}, files{0}, dirs_marked{0}, overflows{0}, refused{0}, sweeps{0}, swept{0};
};

struct DirWatcherHooks {
  std::function<void(std::string)> log;              // one line; must not block
  std::function<bool(const std::string&)> offer;     // a file to judge (normal priority); false: queue full
  std::function<void(pid_t, const std::string&)> built;  // a close-write in a build directory (build_trust.h)
};

class DirWatcher {
 public:
  static Result<std::unique_ptr<DirWatcher>> Start(const DirWatcherOptions& options, DirWatcherHooks hooks);
  ~DirWatcher();  // stops both threads; the marks die with the group
  DirWatcher(const DirWatcher&) = delete;
  DirWatcher& operator=(const DirWatcher&) = delete;

  const DirWatcherStats& stats() const;
  void RequestSweep();
  // Reads and handles every event the kernel has queued now, on the caller's thread (build_trust.h).
  void Drain();

  struct Impl;

 private:
  explicit DirWatcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Exposed for tests: whether a file's verdict xattr value ("<verdict> sha256:<hex> <unix time>")
// was written at or after `mtime` (the content it judged is the file's current content).
bool VerdictXattrIsCurrent(const std::string& xattr_value, int64_t mtime);

}  // namespace airlock::watch
