#include "watch/judge.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <condition_variable>
#include <ctime>
#include <deque>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "analyze/runner.h"
#include "core/helper_path.h"
#include "core/json_text.h"
#include "core/unique_fd.h"
#include "policy/profile_loader.h"
#include "process/spawn.h"
#include "runapi/scan_request.h"
#include "watch/file_hash.h"
#include "watch/trust_policy.h"
#include "watch/xattr_names.h"

namespace airlock::watch {

Verdict WorstVerdict(Verdict a, Verdict b) {
  auto rank = [](Verdict v) {
    switch (v) {
      case Verdict::kMalicious: return 3;
      case Verdict::kSuspicious: return 2;
      case Verdict::kClean: return 1;
      default: return 0;
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

Verdict VerdictOfReport(const std::string& json_text, double* score) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Verdict::kUnknown;
  if (score != nullptr && j.contains("score") && j["score"].is_number()) *score = j["score"].get<double>();
  auto v = j.find("verdict");
  if (v == j.end() || !v->is_string()) return Verdict::kUnknown;
  Verdict out = ParseVerdict(v->get<std::string>());
  return out == Verdict::kReleased ? Verdict::kUnknown : out;
}

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Job {
  std::string path;
  std::string sha256;
  std::string builder;  // set: trusted as built by it (RecordBuilt), not judged
};

constexpr size_t kHeadBytes = 4096;

struct Staged {
  std::string sha256;
  std::string head;  // first kHeadBytes bytes: what analyze's runner choice reads
};

// `airlock analyze` has a way to run it (an ELF, a script, a page or an SVG, an archive): detonation
// can add to static triage. Documents it cannot open are judged by static triage alone.
bool Detonatable(const std::string& head, const std::string& path) {
  static const std::string browser = ::access("/usr/bin/chromium", X_OK) == 0 ? "/usr/bin/chromium" : "";
  return analyze::ChooseRunner(head, fs::path(path).filename().string(), browser).kind != "none";
}

// Copies `in` to `out_path` (created 0500 for `owner`) while hashing it.
Result<Staged> CopyAndHash(int in, const std::string& out_path, HostIds owner) {
  UniqueFd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out) return ErrnoError("stage " + out_path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(64 << 10);
  Staged s;
  off_t off = 0;
  for (;;) {
    ssize_t n = ::pread(in, buf.data(), buf.size(), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read");
    if (n == 0) break;
    if (s.head.size() < kHeadBytes) s.head.append(buf.data(), std::min<size_t>(kHeadBytes - s.head.size(), static_cast<size_t>(n)));
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
    for (ssize_t w = 0; w < n;) {
      ssize_t k = ::write(out.get(), buf.data() + w, static_cast<size_t>(n - w));
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) return ErrnoError("stage " + out_path);  // a full disk: not judged, said so
      w += k;
    }
    off += n;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  for (unsigned i = 0; i < len; ++i) s.sha256 += fmt::format("{:02x}", md[i]);
  if (::fchown(out.get(), owner.uid, owner.gid) != 0 && ::geteuid() == 0) return ErrnoError("chown " + out_path);
  if (::fchmod(out.get(), 0500) != 0) return ErrnoError("chmod " + out_path);
  return s;
}

}  // namespace

struct Judge::Impl {
  JudgeOptions o;
  TrustState& trust;
  TrustDb& db;
  std::function<void(std::string)> log;
  JudgeStats stats;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job> urgent, normal;
  std::set<std::string> queued;
  std::unordered_map<std::string, Clock::time_point> failed_at;  // by sha256
  Clock::time_point last_full_log{};
  bool stopping = false;
  std::vector<std::thread> workers;
  HostIds scan_ids{::geteuid(), ::getegid()};

  Impl(JudgeOptions opt, TrustState& t, TrustDb& d, std::function<void(std::string)> l)
      : o(std::move(opt)), trust(t), db(d), log(std::move(l)) {
    if (::geteuid() == 0) {
      if (auto ids = SandboxHostIds("default")) scan_ids = *ids;
    }
  }

  void Log(std::string s) {
    if (log) log(std::move(s));
  }

  bool Submit(const std::string& path, const std::string& sha, bool is_urgent) {
    std::lock_guard lock(mu);
    if (stopping || path.empty()) return true;
    if (!sha.empty()) {
      auto f = failed_at.find(sha);
      if (f != failed_at.end() && Clock::now() - f->second < std::chrono::seconds(30)) return true;
    }
    if (queued.contains(path)) {
      if (!is_urgent) return true;
      auto it = std::find_if(normal.begin(), normal.end(), [&](const Job& j) { return j.path == path; });
      if (it == normal.end()) return true;  // already urgent
      urgent.push_back(*it);
      normal.erase(it);
      cv.notify_one();
      return true;
    }
    if ((is_urgent ? urgent.size() : normal.size()) >= o.queue_limit) return Refuse(path, is_urgent);  // each priority its own bound
    queued.insert(path);
    (is_urgent ? urgent : normal).push_back(Job{path, sha});
    stats.submitted.fetch_add(1, std::memory_order_relaxed);
    cv.notify_one();
    return true;
  }

  // A full queue (mu held): a normal job is left to the watcher's sweep; an urgent one is dropped
  // (counted, logged once per second at most) and comes back at its next exec attempt.
  bool Refuse(const std::string& path, bool is_urgent) {
    stats.dropped.fetch_add(1, std::memory_order_relaxed);
    const auto now = Clock::now();
    if (now - last_full_log >= std::chrono::seconds(1)) {
      last_full_log = now;
      Log(fmt::format("judge: queue full ({} files): {} not queued ({}; {} refused so far)", o.queue_limit, Utf8Text(path),
                      is_urgent ? "queued again at its next exec attempt" : "the watcher's sweep offers it again", stats.dropped.load()));
    }
    return false;
  }

  // A fresh private staging directory for worker `i`, owned by the scanner's sandbox ids.
  Result<std::string> StageDir(int i) {
    std::string dir = fmt::format("{}/{}", o.work_dir, i);
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoError("judge: mkdir " + dir);
    if (::geteuid() == 0 && ::chown(dir.c_str(), scan_ids.uid, scan_ids.gid) != 0) return ErrnoError("judge: chown " + dir);
    return dir;
  }

  Result<std::string> Scan(const std::string& dir) {
    const std::string airlock = FindHelper("airlock"), scanner = FindHelper("airlock-scan");
    if (airlock.empty() || scanner.empty()) return MakeError("airlock or airlock-scan not found (AIRLOCK_LIBEXEC_DIR?)");
    std::string rules = FindRulesDir("yara", AIRLOCK_WATCH_SOURCE_RULES_DIR);
    if (!fs::is_directory(rules + "/yara")) rules.clear();
    runapi::ScanJob job{airlock, scanner, rules, {{dir, "/in"}}, {"/in/sample"}, "", fmt::format("{}s", o.scan_timeout.count())};
    auto argv = runapi::ScanRequest(job).Argv();
    if (!argv) return std::unexpected(argv.error());
    process::SpawnOptions so;
    so.kill_with_caller = true;
    so.deadline = Clock::now() + o.scan_timeout + std::chrono::seconds(10);
    auto r = process::SpawnAndCapture(*argv, so);
    if (!r) return std::unexpected(r.error());
    if (r->timed_out || r->exit_code == 2 || r->exit_code > 3) {
      return MakeError(fmt::format("airlock-scan in its sandbox exited {}: {}", r->exit_code, Utf8Text(r->err.substr(0, 300))));
    }
    return r->out;
  }

  // analyze chooses its runner by content and by name: the staged copy gets the file's (safe) name.
  Result<std::string> Detonate(const std::string& dir, const std::string& path) {
    std::string sample = dir + "/sample";
    const std::string named = dir + "/" + analyze::SafeSampleName(fs::path(path).filename().string());
    if (named != sample && ::link(sample.c_str(), named.c_str()) == 0) sample = named;
    const std::string airlock = FindHelper("airlock");
    std::string secs = fmt::format("{}s", o.detonate_timeout.count());
    process::SpawnOptions so;
    so.capture_stderr = false;
    so.kill_with_caller = true;
    so.deadline = Clock::now() + o.detonate_timeout * 3 + std::chrono::seconds(30);
    auto r = process::SpawnAndCapture({airlock, "analyze", "--json", "-q", "--timeout", secs, "--out", dir + "/analysis", sample}, so);
    if (!r) return std::unexpected(r.error());
    if (r->timed_out) return MakeError("airlock analyze overran its time and was killed");
    return r->out;
  }

  void Record(int fd, const std::string& path, const std::string& sha, Verdict v, double score, std::string detail) {
    TrustRecord rec{0, sha, v, score, std::move(detail), path, static_cast<int64_t>(std::time(nullptr)), 0};
    trust.SetVerdict(sha, v);  // memory first: the gate answers from it
    if (auto put = db.Put(rec); !put) Log("judge: " + put.error().What() + " (verdict kept in memory only)");
    Label(fd, path, sha, v, rec.judged_at);
    Log(fmt::format("verdict {} sha256:{} score={} path={}", VerdictName(v), sha, score, path));
    if (o.on_verdict) o.on_verdict(path, sha, v);
  }

  // Content judged before: the file gets its labels; the database keeps the first judgement.
  void RecordKnown(int fd, const std::string& path, const std::string& sha, Verdict v) {
    stats.known.fetch_add(1, std::memory_order_relaxed);
    Label(fd, path, sha, v, static_cast<int64_t>(std::time(nullptr)));
    Log(fmt::format("verdict {} sha256:{} known path={}", VerdictName(v), sha, path));
    if (o.on_verdict) o.on_verdict(path, sha, v);  // a new file, told as such
  }

  void Label(int fd, const std::string& path, const std::string& sha, Verdict v, int64_t judged_at) {
    std::string value = fmt::format("{} sha256:{} {}", VerdictName(v), sha, judged_at);
    if (::fsetxattr(fd, kVerdictXattr, value.data(), value.size(), 0) != 0) {
      Log(fmt::format("judge: cannot set {} on {}: {}", kVerdictXattr, path, std::strerror(errno)));
    }
    if (trust.Watched(path) && ::fgetxattr(fd, kOriginXattr, nullptr, 0) < 0) {
      std::string origin = "watch:" + fs::path(path).parent_path().string();
      (void)::fsetxattr(fd, kOriginXattr, origin.data(), origin.size(), XATTR_CREATE);  // informational; the log has the verdict
    }
  }

  void Fail(const std::string& sha, const std::string& path, const std::string& why) {
    stats.failed.fetch_add(1, std::memory_order_relaxed);
    if (!sha.empty()) {
      std::lock_guard lock(mu);
      const auto now = Clock::now();
      if (failed_at.size() >= 10000) {  // bounded: forget failures older than the retry pause
        std::erase_if(failed_at, [&](const auto& e) { return now - e.second >= std::chrono::seconds(30); });
      }
      failed_at[sha] = now;
    }
    Log(fmt::format("judge: {} not judged: {} (stays unknown: refused in enforce mode)", path, why));
  }

  void RecordBuilt(int fd, const Job& job) {
    auto sha = Sha256OfFd(fd);
    if (!sha || *sha != job.sha256) return Log(fmt::format("judge: {} changed since it was built: judged as any file", job.path));
    nlohmann::json detail = {{"basis", "build"}, {"builder", job.builder}};
    Record(fd, job.path, job.sha256, Verdict::kClean, 0, DumpJson(detail));
  }

  void JudgeOne(int worker, const Job& job) {
    UniqueFd fd(::open(job.path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st{};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      stats.skipped.fetch_add(1, std::memory_order_relaxed);
      return Log(fmt::format("judge: {} skipped: {}", job.path, fd ? "not a regular file" : std::strerror(errno)));
    }
    if (!job.builder.empty()) return RecordBuilt(fd.get(), job);
    if (static_cast<uint64_t>(st.st_size) > o.max_file_size) return Fail(job.sha256, job.path, fmt::format("larger than {} bytes", o.max_file_size));
    if (auto sha = Sha256OfFd(fd.get())) {
      if (Verdict known = trust.VerdictOf(*sha); known != Verdict::kUnknown) return RecordKnown(fd.get(), job.path, *sha, known);
    }
    auto dir = StageDir(worker);
    if (!dir) return Fail(job.sha256, job.path, dir.error().What());
    JudgeStaged(fd.get(), job, *dir);
    std::error_code ec;
    fs::remove_all(*dir, ec);  // judged or not, the copy goes: a partial one on a full disk would refuse the next file
  }

  // Copies the file into `dir`, then static triage and, when it can run, detonation.
  void JudgeStaged(int fd, const Job& job, const std::string& dir) {
    auto staged = CopyAndHash(fd, dir + "/sample", scan_ids);
    if (!staged) return Fail(job.sha256, job.path, staged.error().What());
    if (Verdict known = trust.VerdictOf(staged->sha256); known != Verdict::kUnknown) return RecordKnown(fd, job.path, staged->sha256, known);
    auto scan = Scan(dir);
    if (!scan) return Fail(staged->sha256, job.path, "static triage: " + scan.error().What());
    double score = 0;
    Verdict v = VerdictOfReport(*scan, &score);
    if (v == Verdict::kUnknown) return Fail(staged->sha256, job.path, "static triage gave no verdict");
    nlohmann::json detail = {{"static", {{"verdict", VerdictName(v)}, {"score", score}}}};
    if (o.detonate && Detonatable(staged->head, job.path) && v != Verdict::kMalicious) {
      auto report = Detonate(dir, job.path);
      double dscore = 0;
      Verdict dv = report ? VerdictOfReport(*report, &dscore) : Verdict::kUnknown;
      if (dv == Verdict::kUnknown) return Fail(staged->sha256, job.path, "detonation: " + (report ? std::string("no verdict") : report.error().What()));
      detail["detonation"] = {{"verdict", VerdictName(dv)}, {"score", dscore}};
      v = WorstVerdict(v, dv);
      score = std::max(score, dscore);
    }
    stats.judged.fetch_add(1, std::memory_order_relaxed);
    Record(fd, job.path, staged->sha256, v, score, DumpJson(detail));
  }

  void WorkerLoop(int worker) {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || !urgent.empty() || !normal.empty(); });
        if (stopping) return;
        auto& q = urgent.empty() ? normal : urgent;
        job = std::move(q.front());
        q.pop_front();
        // No longer waiting: a write while it is judged queues the path again, for its new content.
        if (job.builder.empty()) queued.erase(job.path);
      }
      JudgeOne(worker, job);
    }
  }
};

Judge::Judge(JudgeOptions options, TrustState& trust, TrustDb& db, std::function<void(std::string)> log)
    : impl_(std::make_unique<Impl>(std::move(options), trust, db, std::move(log))) {
  for (int i = 0; i < std::max(1, impl_->o.concurrency); ++i) impl_->workers.emplace_back([this, i] { impl_->WorkerLoop(i); });
}

Judge::~Judge() { Stop(); }

void Judge::Stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  for (auto& t : impl_->workers) {
    if (t.joinable()) t.join();
  }
}

void Judge::RecordBuilt(const std::string& path, const std::string& sha256, const std::string& builder) {
  std::lock_guard lock(impl_->mu);
  if (impl_->stopping) return;
  impl_->urgent.push_front(Job{path, sha256, builder});  // not in `queued`: a later judging job stays
  impl_->cv.notify_one();
}

bool Judge::Submit(const std::string& path, const std::string& sha256, bool urgent) { return impl_->Submit(path, sha256, urgent); }

size_t Judge::QueueLength() {
  std::lock_guard lock(impl_->mu);
  return impl_->queued.size();
}

const JudgeStats& Judge::stats() const { return impl_->stats; }

}  // namespace airlock::watch
