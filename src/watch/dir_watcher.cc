#include "watch/dir_watcher.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/json_text.h"
#include "core/unique_fd.h"
#include "watch/xattr_names.h"

namespace airlock::watch {

bool VerdictXattrIsCurrent(const std::string& value, int64_t mtime) {
  // "<verdict> sha256:<hex> <unix time>"
  const size_t a = value.find(' ');
  const size_t b = a == std::string::npos ? a : value.find(' ', a + 1);
  if (b == std::string::npos || value.compare(a + 1, 7, "sha256:") != 0) return false;
  int64_t judged_at = 0;
  const char* end = value.data() + value.size();
  auto [p, ec] = std::from_chars(value.data() + b + 1, end, judged_at);
  // Judged in a later second than the last write: a write in the same second may be newer.
  return ec == std::errc() && p == end && judged_at > mtime;
}

namespace {

constexpr uint64_t kMask = FAN_CLOSE_WRITE | FAN_MOVED_TO | FAN_MOVED_FROM | FAN_CREATE | FAN_ONDIR | FAN_EVENT_ON_CHILD;
constexpr int kMaxDepth = 32;

// A directory's identity as the kernel reports it: filesystem id, handle type and handle bytes.
std::string HandleKey(const __kernel_fsid_t& fsid, const struct file_handle& h) {
  std::string key(reinterpret_cast<const char*>(&fsid), sizeof fsid);
  key.append(reinterpret_cast<const char*>(&h.handle_type), sizeof h.handle_type);
  key.append(reinterpret_cast<const char*>(h.f_handle), h.handle_bytes);
  return key;
}

// The key of the directory at `path` (no symlink followed), "" when the file system has no handles.
std::string KeyOfPath(const std::string& path) {
  struct statfs sfs{};
  if (::statfs(path.c_str(), &sfs) != 0) return "";
  alignas(struct file_handle) std::array<char, sizeof(struct file_handle) + MAX_HANDLE_SZ> buf{};
  auto* h = reinterpret_cast<struct file_handle*>(buf.data());
  h->handle_bytes = MAX_HANDLE_SZ;
  int mount_id = 0;
  if (::name_to_handle_at(AT_FDCWD, path.c_str(), h, &mount_id, 0) != 0) return "";
  __kernel_fsid_t fsid{};
  static_assert(sizeof fsid == sizeof sfs.f_fsid);
  std::memcpy(&fsid, &sfs.f_fsid, sizeof fsid);
  return HandleKey(fsid, *h);
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

bool IsDir(const std::string& parent, const struct dirent& e) {
  if (e.d_type != DT_UNKNOWN) return e.d_type == DT_DIR;
  struct stat st{};
  return ::lstat((parent + e.d_name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsRegular(const std::string& parent, const struct dirent& e) {
  if (e.d_type != DT_UNKNOWN) return e.d_type == DT_REG;
  struct stat st{};
  return ::lstat((parent + e.d_name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

struct DirWatcher::Impl {
  DirWatcherOptions o;
  DirWatcherHooks hooks;
  DirWatcherStats stats;
  UniqueFd group, stop_fd;
  std::thread reader, sweeper;
  std::mutex mu;  // the maps and the sweep flag
  std::condition_variable cv;
  bool sweep_wanted = false, stopping = false, over_limit_logged = false;
  enum class Kind { kWatched, kFlat, kBuild };
  struct Marked {
    std::string path;  // ending in '/'
    Kind kind = Kind::kWatched;
  };
  std::mutex read_mu;  // one reader of the group at a time (the reader thread or Drain)
  std::unordered_map<std::string, Marked> dir_of;       // handle key -> the directory
  std::map<std::string, std::string> key_of;            // path -> handle key (ordered: subtrees by prefix)

  Impl(const DirWatcherOptions& opt, DirWatcherHooks h) : o(opt), hooks(std::move(h)) {}

  void Log(std::string line) {
    if (hooks.log) hooks.log(std::move(line));
  }

  // Marks one directory (idempotent). False when it is not watched (said in the log).
  bool MarkDir(const std::string& dir, Kind kind) {
    std::unique_lock lock(mu);
    if (key_of.contains(dir)) return true;
    if (key_of.size() >= o.max_dirs) {
      if (!over_limit_logged) Log(fmt::format("watch: more than {} directories below the watched ones: {} and others are not watched (raise watch_max_dirs)", o.max_dirs, Utf8Text(dir)));
      over_limit_logged = true;
      return false;
    }
    lock.unlock();
    if (::fanotify_mark(group.get(), FAN_MARK_ADD | FAN_MARK_ONLYDIR | FAN_MARK_DONT_FOLLOW, kMask, AT_FDCWD, dir.c_str()) != 0) {
      const int err = errno;
      Log(fmt::format("watch: cannot watch {}: {} (files there are judged at their first exec attempt only)", Utf8Text(dir), std::strerror(err)));
      return false;
    }
    std::string key = KeyOfPath(dir);
    if (key.empty()) return false;
    lock.lock();
    if (auto old = dir_of.find(key); old != dir_of.end()) key_of.erase(old->second.path);  // moved: the new name wins
    dir_of[key] = Marked{dir, kind};
    key_of[dir] = key;
    stats.dirs_marked.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // Forgets a directory moved away and everything below it (their marks stay until the group
  // closes; their events are dropped as unknown, and a move back marks them again).
  void Forget(const std::string& dir) {
    std::lock_guard lock(mu);
    for (auto it = key_of.lower_bound(dir); it != key_of.end() && it->first.starts_with(dir);) {
      dir_of.erase(it->second);  // key_of's value: the handle key
      it = key_of.erase(it);
    }
  }

  // Offers a file to the judge; false (a sweep is due) when the queue refused it.
  bool Offer(const std::string& path) {
    if (hooks.offer(path)) return true;
    stats.refused.fetch_add(1, std::memory_order_relaxed);
    RequestSweep();
    return false;
  }

  // A subdirectory of a flat directory that is watched all the same (a mail client's attachment cache
  // in /tmp): its name matches one of `flat_subdirs`.
  bool WatchedBelowFlat(const char* name) const {
    return std::any_of(o.flat_subdirs.begin(), o.flat_subdirs.end(), [&](const std::string& p) { return ::fnmatch(p.c_str(), name, 0) == 0; });
  }

  // Marks `root` and every directory below it (flat: `root` and its subdirectories matching
  // `flat_subdirs`); calls `on_file` for each regular file.
  template <typename OnFile>
  void Walk(const std::string& root, Kind kind, OnFile on_file) {
    struct Todo {
      std::string dir;
      int depth;
      Kind kind;
    };
    std::vector<Todo> todo{{root, 0, kind}};
    while (!todo.empty() && !Stopping()) {
      Todo t = std::move(todo.back());
      todo.pop_back();
      if (!MarkDir(t.dir, t.kind)) continue;
      std::unique_ptr<DIR, DirCloser> d(::opendir(t.dir.c_str()));
      if (!d) continue;
      while (struct dirent* e = ::readdir(d.get())) {
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        if (IsDir(t.dir, *e)) {
          if (t.kind != Kind::kFlat && t.depth < kMaxDepth) todo.push_back({t.dir + e->d_name + "/", t.depth + 1, t.kind});
          else if (t.kind == Kind::kFlat && WatchedBelowFlat(e->d_name)) todo.push_back({t.dir + e->d_name + "/", t.depth + 1, Kind::kWatched});
        } else if (IsRegular(t.dir, *e)) {
          on_file(t.dir + e->d_name);
        }
      }
    }
  }

  bool Stopping() {
    std::lock_guard lock(mu);
    return stopping;
  }

  void OnEntry(uint64_t mask, pid_t pid, const Marked& parent, const char* name) {
    if (std::strcmp(name, ".") == 0) return;
    const std::string path = parent.path + name;
    if ((mask & FAN_ONDIR) != 0) {
      if (parent.kind == Kind::kFlat && !WatchedBelowFlat(name)) return;
      if ((mask & FAN_MOVED_FROM) != 0) Forget(path + "/");
      if ((mask & (FAN_CREATE | FAN_MOVED_TO)) != 0) {
        if (parent.kind == Kind::kBuild) Walk(path + "/", Kind::kBuild, [](const std::string&) {});
        else Walk(path + "/", Kind::kWatched, [this](const std::string& f) { Offer(f); });
      }
      return;
    }
    if (parent.kind == Kind::kBuild) {
      if ((mask & FAN_CLOSE_WRITE) != 0 && hooks.built) hooks.built(pid, path);
      return;
    }
    if ((mask & (FAN_CLOSE_WRITE | FAN_MOVED_TO)) != 0) {
      stats.files.fetch_add(1, std::memory_order_relaxed);
      Offer(path);
    }
  }

  void OnEvent(const struct fanotify_event_metadata* md) {
    stats.events.fetch_add(1, std::memory_order_relaxed);
    if ((md->mask & FAN_Q_OVERFLOW) != 0) {
      stats.overflows.fetch_add(1, std::memory_order_relaxed);
      Log("watch: the kernel's event queue overflowed: events were lost; sweeping the watched directories");
      return RequestSweep();
    }
    const char* p = reinterpret_cast<const char*>(md) + md->metadata_len;
    const char* end = reinterpret_cast<const char*>(md) + md->event_len;
    while (p + sizeof(struct fanotify_event_info_header) <= end) {
      const auto* hdr = reinterpret_cast<const struct fanotify_event_info_header*>(p);
      if (hdr->len < sizeof *hdr || p + hdr->len > end) return;
      if (hdr->info_type == FAN_EVENT_INFO_TYPE_DFID_NAME && hdr->len > sizeof(struct fanotify_event_info_fid) + sizeof(struct file_handle)) {
        const auto* fid = reinterpret_cast<const struct fanotify_event_info_fid*>(p);
        const auto* h = reinterpret_cast<const struct file_handle*>(fid->handle);
        const char* name = reinterpret_cast<const char*>(h->f_handle) + h->handle_bytes;
        if (name >= p + hdr->len || std::memchr(name, '\0', static_cast<size_t>(p + hdr->len - name)) == nullptr) return;
        Marked parent;
        {
          std::lock_guard lock(mu);
          auto it = dir_of.find(HandleKey(fid->fsid, *h));
          if (it == dir_of.end()) return;  // a directory forgotten (moved away)
          parent = it->second;
        }
        return OnEntry(md->mask, md->pid, parent, name);
      }
      p += hdr->len;
    }
  }

  // Reads what is queued now and handles it; false when the group is unusable.
  bool ReadOnce() {
    alignas(struct fanotify_event_metadata) static thread_local std::array<char, 64 * 1024> buf;
    std::lock_guard lock(read_mu);
    for (;;) {
      ssize_t n = ::read(group.get(), buf.data(), buf.size());
      if (n <= 0) return true;  // EAGAIN: nothing more (the group is non-blocking)
      auto* md = reinterpret_cast<struct fanotify_event_metadata*>(buf.data());
      for (; FAN_EVENT_OK(md, n); md = FAN_EVENT_NEXT(md, n)) {
        if (md->vers != FANOTIFY_METADATA_VERSION) {
          Log("watch: fanotify metadata version mismatch: directories are no longer watched");
          return false;
        }
        if (md->fd >= 0) ::close(md->fd);  // none in FID mode
        OnEvent(md);
      }
    }
  }

  void ReaderLoop() {
    for (;;) {
      struct pollfd fds[2] = {{group.get(), POLLIN, 0}, {stop_fd.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if ((fds[1].revents & POLLIN) != 0 || !ReadOnce()) return;
    }
  }

  // The sweep offers a file until the judge takes it (pacing by the queue), unless its verdict is current.
  void SweepFile(const std::string& path) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return;
    std::array<char, 256> value{};
    ssize_t n = ::lgetxattr(path.c_str(), kVerdictXattr, value.data(), value.size());
    if (n > 0 && VerdictXattrIsCurrent(std::string(value.data(), static_cast<size_t>(n)), st.st_mtim.tv_sec)) return;
    std::unique_lock lock(mu);
    while (!stopping && !hooks.offer(path)) cv.wait_for(lock, std::chrono::milliseconds(100));
    stats.swept.fetch_add(1, std::memory_order_relaxed);
  }

  void SweeperLoop() {
    for (;;) {
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || sweep_wanted; });
        if (stopping) return;
        sweep_wanted = false;
      }
      stats.sweeps.fetch_add(1, std::memory_order_relaxed);
      const uint64_t before = stats.swept.load();
      for (const auto& d : o.dirs) Walk(d, Kind::kWatched, [this](const std::string& f) { SweepFile(f); });
      for (const auto& d : o.flat_dirs) Walk(d, Kind::kFlat, [this](const std::string& f) { SweepFile(f); });
      Log(fmt::format("watch: sweep {} done: {} files without a current verdict offered to the judge", stats.sweeps.load(), stats.swept.load() - before));
    }
  }

  void RequestSweep() {
    std::lock_guard lock(mu);
    sweep_wanted = true;
    cv.notify_all();
  }

  Status Setup() {
    int g = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_DFID_NAME, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
    if (g < 0) return ErrnoError("fanotify_init with FAN_REPORT_DFID_NAME (kernel 5.9 or later; airlock watch needs root)");
    group.reset(g);
    int e = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (e < 0) return ErrnoError("eventfd");
    stop_fd.reset(e);
    for (const auto& d : o.dirs) Walk(d, Kind::kWatched, [](const std::string&) {});
    for (const auto& d : o.flat_dirs) Walk(d, Kind::kFlat, [](const std::string&) {});
    for (const auto& d : o.build_dirs) Walk(d, Kind::kBuild, [](const std::string&) {});
    return Ok();
  }

  void Stop() {
    {
      std::lock_guard lock(mu);
      stopping = true;
      cv.notify_all();
    }
    uint64_t one = 1;
    if (stop_fd) (void)!::write(stop_fd.get(), &one, sizeof one);
    if (reader.joinable()) reader.join();
    if (sweeper.joinable()) sweeper.join();
  }
};

DirWatcher::DirWatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DirWatcher::~DirWatcher() { impl_->Stop(); }
const DirWatcherStats& DirWatcher::stats() const { return impl_->stats; }
void DirWatcher::RequestSweep() { impl_->RequestSweep(); }
void DirWatcher::Drain() { impl_->ReadOnce(); }

Result<std::unique_ptr<DirWatcher>> DirWatcher::Start(const DirWatcherOptions& options, DirWatcherHooks hooks) {
  auto impl = std::make_unique<Impl>(options, std::move(hooks));
  if (auto s = impl->Setup(); !s) return std::unexpected(s.error());
  Impl* raw = impl.get();
  raw->reader = std::thread([raw] { raw->ReaderLoop(); });
  raw->sweeper = std::thread([raw] { raw->SweeperLoop(); });
  if (options.sweep_at_start) raw->RequestSweep();
  return std::unique_ptr<DirWatcher>(new DirWatcher(std::move(impl)));
}

}  // namespace airlock::watch
