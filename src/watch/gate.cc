#include "watch/gate.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/unique_fd.h"
#include "process/proc_stat.h"
#include "watch/file_hash.h"
#include "watch/process_info.h"
#include "watch/xattr_names.h"

namespace airlock::watch {

const char* GateModeName(GateMode m) { return m == GateMode::kEnforce ? "enforce" : "monitor"; }
const char* FailModeName(FailMode m) { return m == FailMode::kOpen ? "open" : "closed"; }

namespace {

using Clock = std::chrono::steady_clock;

struct Pending {
  UniqueFd fd;
  pid_t pid = 0;
  bool exec = false;
  Clock::time_point deadline;
  std::atomic<bool> answered{false};
  FileKey key;
  Classification cls;
  std::string path;
  bool root_owned = false;  // uid 0, not group/other-writable
};

std::string FdPath(int fd) {
  std::array<char, 4096> buf{};
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string();
}

}  // namespace

struct Gate::Impl {
  GateOptions o;
  TrustState& trust;
  GateHooks hooks;
  GateStats stats;
  pid_t self = ::getpid();
  UniqueFd group;
  UniqueFd stop_fd;
  std::atomic<bool> stopping{false};
  std::thread reader, watchdog;
  std::vector<std::thread> verifiers;
  std::mutex qmu;
  std::condition_variable qcv;
  std::deque<std::shared_ptr<Pending>> queue;
  std::mutex imu;
  std::condition_variable wcv;
  std::vector<std::weak_ptr<Pending>> inflight;

  Impl(const GateOptions& opt, TrustState& t, GateHooks h) : o(opt), trust(t), hooks(std::move(h)) {}

  void Log(std::string line) {
    if (hooks.log) hooks.log(std::move(line));
  }

  // Exactly once per event, whoever comes first (the deciding thread or the watchdog).
  void Answer(Pending& p, bool allow) {
    if (p.answered.exchange(true)) return;
    struct fanotify_response r{};
    r.fd = p.fd.get();
    r.response = allow ? FAN_ALLOW : FAN_DENY;
    if (::write(group.get(), &r, sizeof r) != static_cast<ssize_t>(sizeof r)) {
      Log(fmt::format("gate: answering an event of pid {} failed: {}", p.pid, std::strerror(errno)));
    }
    (allow ? stats.allowed : stats.denied).fetch_add(1, std::memory_order_relaxed);
  }

  std::string PathOf(Pending& p) {
    if (p.path.empty()) p.path = ReachablePath(p.fd.get());
    return p.path;
  }

  // The file's path as this daemon can open it. A file opened through a mount that is not in the
  // daemon's mount namespace reads as a path relative to that mount's root; then the same name in a
  // watched directory is tried (dev and inode must match). Else the kernel's text, as given.
  std::string ReachablePath(int fd) {
    const std::string given = FdPath(fd);
    struct stat by_fd{}, by_path{};
    if (::fstat(fd, &by_fd) != 0) return trust.Canonical(given);
    auto same = [&](const std::string& p) {
      return ::stat(p.c_str(), &by_path) == 0 && by_path.st_dev == by_fd.st_dev && by_path.st_ino == by_fd.st_ino;
    };
    if (same(given)) return trust.Canonical(given);
    const std::string base = given.substr(given.rfind('/') + 1);
    for (const auto& dir : trust.watched_dirs()) {
      if (same(dir + base)) return dir + base;
    }
    return trust.Canonical(given);
  }

  // A file trusted by content (dpkg-verified, allow-listed hash, clean or released verdict): an ignore
  // mark on its inode lets the kernel answer its next opens and execs without asking us. The kernel
  // drops the ignore mask when the file is modified (no FAN_MARK_IGNORED_SURV_MODIFY), so a changed
  // file is asked about again; the marks die with the group.
  // A write between the decision and the mark would not clear a mask added after it: the key is
  // checked again once the mark is in place, and a moved key takes the mask back.
  void IgnoreFromNowOn(const Pending& p) {
    constexpr uint64_t kMask = FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM;
    if (::fanotify_mark(group.get(), FAN_MARK_ADD | FAN_MARK_IGNORED_MASK, kMask, p.fd.get(), nullptr) != 0) return;
    struct stat st{};
    if (::fstat(p.fd.get(), &st) != 0 || !(FileKeyOf(st) == p.key)) {
      (void)::fanotify_mark(group.get(), FAN_MARK_REMOVE | FAN_MARK_IGNORED_MASK, kMask, p.fd.get(), nullptr);  // best effort: the next event decides again
      return;
    }
    stats.ignored.fetch_add(1, std::memory_order_relaxed);
  }

  // Content without a verdict in a build directory, written last by a verified builder: trusted.
  bool TrustAsBuilt(Pending& p, const std::string& sha, std::string& why) {
    if (o.builds == nullptr || !o.builds->InBuildDir(PathOf(p))) return false;
    auto by = o.builds->BuiltBy(p.fd.get());
    if (!by) return false;
    trust.SetVerdict(sha, Verdict::kClean);  // memory first, as the judge does
    if (hooks.on_built) hooks.on_built(PathOf(p), sha, *by);
    why = "built by " + *by;
    return true;
  }

  void Finish(Pending& p, const CachedDecision& d) {
    bool allow = true;
    std::string why;
    if (d.basis == Basis::kDpkg) {
      why = "dpkg";
      IgnoreFromNowOn(p);
    } else if (d.basis == Basis::kAllowList) {
      why = "allow-list";
    } else if (trust.ContentAllowListed(d.sha256)) {
      why = "allow-list hash";
      IgnoreFromNowOn(p);
    } else {
      Verdict v = trust.VerdictOf(d.sha256);
      why = VerdictName(v);
      if (v == Verdict::kUnknown && p.exec && TrustAsBuilt(p, d.sha256, why)) v = Verdict::kClean;
      if (VerdictAllowsRun(v)) IgnoreFromNowOn(p);
      if (!VerdictAllowsRun(v)) {
        bool download_rule_only = !p.exec && o.interpreter_reads == InterpreterReads::kDownloads;
        allow = download_rule_only && !d.watched && v == Verdict::kUnknown;
        if (!allow && IsSelfOrDescendant(p.pid, self)) return Answer(p, true);  // the daemon's own sandboxes
        if (!allow && v == Verdict::kUnknown && hooks.on_unjudged) hooks.on_unjudged(PathOf(p), d.sha256);
        if (v == Verdict::kUnknown) why = "not judged yet";
      }
    }
    if (!allow) {
      const bool monitor = o.mode == GateMode::kMonitor;
      Log(fmt::format("{} {} pid={} exe={} path={} sha256={} reason={}", monitor ? "would-deny" : "deny",
                      p.exec ? "exec" : "interpreter-read", p.pid, ExeOf(p.pid), PathOf(p), d.sha256, why));
      if (monitor) {
        stats.would_deny.fetch_add(1, std::memory_order_relaxed);
        allow = true;
      } else if (hooks.on_denied) {
        hooks.on_denied(PathOf(p), d.sha256, why);
      }
    }
    Answer(p, allow);
  }

  // Reader thread: everything decidable without hashing is answered here.
  void OnPermission(UniqueFd fd, pid_t pid, uint64_t mask) {
    auto p = std::make_shared<Pending>();
    p->fd = std::move(fd);
    p->pid = pid;
    p->exec = (mask & FAN_OPEN_EXEC_PERM) != 0;
    struct stat st{};
    if (pid == self || ::fstat(p->fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return Answer(*p, true);
    // An interpreter's open of an empty file reads no code: allowed (a shell creating a file with `>`
    // opens it empty; fanotify does not say whether an open is for reading or writing).
    if (!p->exec) {
      const std::string exe = o.builds != nullptr || st.st_size != 0 ? ExeOf(pid) : std::string();
      if (o.builds != nullptr) o.builds->NoteProcess(pid, exe);
      if (st.st_size == 0 || !IsInterpreterPath(exe)) return Answer(*p, true);
    }
    p->key = FileKeyOf(st);
    if (auto c = trust.cache().Find(p->key)) {
      stats.cache_hits.fetch_add(1, std::memory_order_relaxed);
      return Finish(*p, *c);
    }
    FileFacts facts{PathOf(*p), ::fgetxattr(p->fd.get(), kOriginXattr, nullptr, 0) >= 0,
                    st.st_uid == 0 && (st.st_mode & 022) == 0};
    p->cls = trust.Classify(facts);
    p->root_owned = facts.root_owned_not_writable;
    if (p->cls.kind == Classification::Kind::kTrusted) {
      CachedDecision d{Basis::kAllowList, "", p->cls.watched};
      trust.cache().Put(p->key, d);
      return Finish(*p, d);
    }
    p->deadline = Clock::now() + o.decision_timeout;
    {
      std::lock_guard lock(imu);
      inflight.push_back(p);
    }
    std::lock_guard lock(qmu);
    queue.push_back(std::move(p));
    qcv.notify_one();
  }

  // Verifier thread: the hash, then the answer (unless the watchdog answered first).
  void Verify(Pending& p) {
    CachedDecision d{Basis::kContent, "", p.cls.watched};
    if (p.cls.kind == Classification::Kind::kVerifyMd5) {
      auto md5 = Md5OfFd(p.fd.get());
      if (md5 && *md5 == p.cls.md5) d.basis = Basis::kDpkg;
      else Log(fmt::format("dpkg-mismatch path={} (changed since dpkg installed it: judged by content)", p.path));
    }
    if (d.basis == Basis::kContent) {
      auto sha = Sha256OfFd(p.fd.get());
      if (!sha) {
        Log(fmt::format("gate: cannot hash {}: {}: fail mode {}", p.path, sha.error().What(), FailModeName(o.fail_mode)));
        return Answer(p, o.fail_mode == FailMode::kOpen || o.mode == GateMode::kMonitor);
      }
      d.sha256 = *sha;
    }
    stats.hashed.fetch_add(1, std::memory_order_relaxed);
    struct stat st{};
    if (::fstat(p.fd.get(), &st) == 0 && FileKeyOf(st) == p.key) trust.cache().Put(p.key, d);  // else: changed while hashed
    Finish(p, d);
  }

  void VerifierLoop() {
    for (;;) {
      std::shared_ptr<Pending> p;
      {
        std::unique_lock lock(qmu);
        qcv.wait(lock, [&] { return stopping.load() || !queue.empty(); });
        if (stopping.load()) return;
        p = std::move(queue.front());
        queue.pop_front();
      }
      if (!p->answered.load()) Verify(*p);
    }
  }

  void WatchdogLoop() {
    const auto tick = std::max(std::chrono::milliseconds(5), o.decision_timeout / 4);
    std::unique_lock lock(imu);
    while (!stopping.load()) {
      wcv.wait_for(lock, tick);
      const auto now = Clock::now();
      std::erase_if(inflight, [&](const std::weak_ptr<Pending>& w) {
        auto p = w.lock();
        if (!p || p->answered.load()) return true;
        if (now < p->deadline) return false;
        stats.watchdog.fetch_add(1, std::memory_order_relaxed);
        if (p->cls.kind == Classification::Kind::kVerifyMd5 && p->root_owned) {
          // dpkg's file, root's and not writable by others, still being hashed (a large binary on a
          // cold cache): allowed on path and ownership, its hash finishes in the background.
          Log(fmt::format("watchdog: {} (pid {}) allowed as dpkg's on path and ownership; its MD5 is still being checked", p->path, p->pid));
          Answer(*p, true);
          return true;
        }
        Log(fmt::format("watchdog: no decision for {} (pid {}) within {} ms: answered with fail mode {}", p->path, p->pid,
                        o.decision_timeout.count(), FailModeName(o.fail_mode)));
        Answer(*p, o.fail_mode == FailMode::kOpen || o.mode == GateMode::kMonitor);
        return true;
      });
    }
  }

  void ReaderLoop() {
    alignas(struct fanotify_event_metadata) std::array<char, 64 * 1024> buf;
    while (!stopping.load()) {
      struct pollfd fds[2] = {{group.get(), POLLIN, 0}, {stop_fd.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if ((fds[1].revents & POLLIN) != 0) return;
      ssize_t n = ::read(group.get(), buf.data(), buf.size());
      if (n <= 0) continue;
      auto* md = reinterpret_cast<struct fanotify_event_metadata*>(buf.data());
      for (; FAN_EVENT_OK(md, n); md = FAN_EVENT_NEXT(md, n)) {
        if (md->vers != FANOTIFY_METADATA_VERSION) {
          Log("gate: fanotify metadata version mismatch: stopping the reader (the kernel allows what waits)");
          return;
        }
        stats.events.fetch_add(1, std::memory_order_relaxed);
        if (md->fd < 0) continue;  // FAN_Q_OVERFLOW: none with an unlimited queue
        UniqueFd fd(md->fd);
        if ((md->mask & (FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM)) != 0) OnPermission(std::move(fd), md->pid, md->mask);
      }
    }
  }

  Status Mark(unsigned int how, uint64_t mask, const std::string& path, const char* kind) {
    if (::fanotify_mark(group.get(), FAN_MARK_ADD | how, mask, AT_FDCWD, path.c_str()) != 0) {
      return ErrnoError(fmt::format("fanotify {} mark on {}", kind, path));
    }
    return Ok();
  }

  Status Setup() {
    int g = ::fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE | FAN_UNLIMITED_MARKS,
                            O_RDONLY | O_LARGEFILE | O_CLOEXEC);
    if (g < 0) return ErrnoError("fanotify_init (airlock watch needs root: CAP_SYS_ADMIN)");
    group.reset(g);
    int e = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (e < 0) return ErrnoError("eventfd");
    stop_fd.reset(e);
    const uint64_t perm = FAN_OPEN_EXEC_PERM | (o.gate_interpreters ? FAN_OPEN_PERM : 0);
    for (const auto& p : o.filesystem_marks) AIRLOCK_TRY_STATUS(Mark(FAN_MARK_FILESYSTEM, perm, p, "filesystem"), "gate");
    for (const auto& p : o.mount_marks) AIRLOCK_TRY_STATUS(Mark(FAN_MARK_MOUNT, perm, p, "mount"), "gate");
    return Ok();
  }

  void StartThreads() {
    reader = std::thread([this] { ReaderLoop(); });
    watchdog = std::thread([this] { WatchdogLoop(); });
    for (int i = 0; i < std::max(1, o.verifiers); ++i) verifiers.emplace_back([this] { VerifierLoop(); });
  }

  void Stop() {
    stopping.store(true);
    uint64_t one = 1;
    if (stop_fd) (void)!::write(stop_fd.get(), &one, sizeof one);
    {
      std::lock_guard lock(qmu);
      qcv.notify_all();
    }
    {
      std::lock_guard lock(imu);
      wcv.notify_all();
    }
    if (reader.joinable()) reader.join();
    if (watchdog.joinable()) watchdog.join();
    for (auto& t : verifiers) t.join();
    group.reset();  // the kernel allows whatever still waits
  }
};

Gate::Gate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gate::~Gate() { impl_->Stop(); }
const GateStats& Gate::stats() const { return impl_->stats; }

Result<std::unique_ptr<Gate>> Gate::Start(const GateOptions& options, TrustState& trust, GateHooks hooks) {
  auto impl = std::make_unique<Impl>(options, trust, std::move(hooks));
  if (auto s = impl->Setup(); !s) return std::unexpected(s.error());
  impl->StartThreads();
  return std::unique_ptr<Gate>(new Gate(std::move(impl)));
}

}  // namespace airlock::watch
