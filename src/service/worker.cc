#include "service/worker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/file_read.h"
#include "core/helper_path.h"
#include "core/json_text.h"
#include "core/report_envelope.h"
#include "core/unique_fd.h"
#include "core/private_dir.h"
#include "kernel/syscalls.h"
#include "policy/profile_loader.h"
#include "process/spawn.h"
#include "runapi/scan_request.h"
#include "service/digest.h"
#include "service/results.h"
#include "service/fingerprint.h"

namespace airlock::service {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
constexpr size_t kMaxSample = size_t(1) << 30;
constexpr size_t kMaxReport = size_t(256) << 20;
constexpr size_t kMaxArtifact = size_t(64) << 20;  // a detonation's PCAP or events (past it: not kept)
constexpr size_t kMaxDroppedFiles = 32, kMaxDroppedBytes = size_t(16) << 20;
constexpr std::chrono::seconds kEngineRetry{30};

// An engine operation the cluster may refuse for a while (a node lost, a stream's leader being
// elected: timeouts, "no responders"): tried again every 500 ms for at most kEngineRetry, the work
// message held meanwhile by in-progress acks. A failover then costs time, not one of the task's
// attempts (MaxDeliver), which are for analyses that fail.
template <typename Op>
auto Persist(WorkMessage& msg, Op op) -> decltype(op()) {
  const auto end = std::chrono::steady_clock::now() + kEngineRetry;
  for (;;) {
    auto r = op();
    if (r || std::chrono::steady_clock::now() >= end) return r;
    msg.InProgress();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// One dropped file as the report names it (`path` inside the sandbox: /tmp/... or /home/sandbox/...),
// read from analyze's work directory beneath it: never through a symlink, never above it (openat2
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS; the names are the sample's). Empty when unreadable.
std::string ReadDropped(const std::string& work, const std::string& inside) {
  std::string rel;
  if (inside.starts_with("/tmp/")) rel = "tmp/" + inside.substr(5);
  else if (inside.starts_with("/home/sandbox/")) rel = "home/" + inside.substr(14);
  else return "";
  UniqueFd dir(::open(work.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return "";
  UniqueFd fd(kernel::Openat2(dir.get(), rel.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0,
                              RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS));
  struct stat st{};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) > kMaxDroppedBytes) return "";
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
    if (n <= 0) return "";
    done += static_cast<size_t>(n);
  }
  return data;
}

// The files the report lists as dropped, each kept when its content still has the report's SHA-256
// (at most kMaxDroppedFiles, each at most kMaxDroppedBytes).
std::vector<std::pair<std::string, std::string>> CollectDropped(const json& report, const std::string& work) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!report.contains("dropped") || !report["dropped"].is_array()) return out;
  for (const auto& d : report["dropped"]) {
    if (out.size() >= kMaxDroppedFiles) break;
    if (!d.is_object() || !d.contains("path") || !d["path"].is_string() || !d.contains("hashes") || !d["hashes"].is_object()) continue;
    const std::string sha = d["hashes"].value("sha256", "");
    if (!IsSha256Hex(sha)) continue;
    std::string data = ReadDropped(work, d["path"].get<std::string>());
    if (!data.empty() && Sha256Hex(data) == sha) out.emplace_back(sha, std::move(data));
  }
  return out;
}

void Log(const std::string& id, const std::string& line) { std::cerr << "airlock worker " << id << ": " << line << "\n"; }

std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// Writes `bytes` to dir/name (mode 0400), owned by `owner` (the sandbox's host ids, so it can read it).
Status StageFile(const std::string& path, const std::string& bytes, HostIds owner) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400));
  if (!fd) return ErrnoError("create " + path);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd.get(), bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError("write " + path);
    off += size_t(n);
  }
  if ((owner.uid != ::geteuid() || owner.gid != ::getegid()) && ::fchown(fd.get(), owner.uid, owner.gid) != 0) {
    return ErrnoError("chown " + path);
  }
  return Ok();
}

// The verdict fields of a scan or analyze report (values of the wrong type are ignored). The verdict
// fails closed (core/report_envelope.h): a report without a known verdict is "error", never clean.
void ReadVerdict(const json& r, std::string& verdict, double& score, std::vector<std::string>& techniques) {
  verdict = ReportVerdict(r);
  if (r.contains("score") && r["score"].is_number()) score = r["score"].get<double>();
  if (r.contains("techniques") && r["techniques"].is_array()) {
    for (const auto& t : r["techniques"]) {
      if (t.is_string()) techniques.push_back(t.get<std::string>());
    }
  }
}

process::SpawnOptions HeartbeatOptions(WorkMessage& msg, std::chrono::milliseconds ack_wait, int timeout_s) {
  process::SpawnOptions o;
  o.stdout_cap = kMaxReport;
  o.stderr_cap = 1 << 20;
  o.kill_with_caller = true;
  o.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s + 300);
  o.tick_interval = std::max(std::chrono::milliseconds(200), ack_wait / 3);
  o.on_tick = [&msg] { msg.InProgress(); };
  return o;
}

}  // namespace

std::string SafeSampleName(const std::string& name) {
  std::string base = name.substr(name.find_last_of('/') == std::string::npos ? 0 : name.find_last_of('/') + 1);
  std::string out;
  for (char c : base) {
    if (isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') out.push_back(c);
    if (out.size() >= 100) break;
  }
  if (out.find_first_not_of('.') == std::string::npos) out = "sample" + out.substr(0, 0);
  if (out.front() == '.' || out.front() == '-') out = "s" + out;
  return out;
}

Worker::Outcome Worker::RunStatic(const std::string& dir, const std::string& file, const WorkItem& w, WorkMessage& msg) {
  Outcome o;
  std::string rules = FindRulesDir("yara", AIRLOCK_SERVICE_SOURCE_RULES_DIR);
  runapi::ScanJob job{FindHelper("airlock"), FindHelper("airlock-scan"), fs::is_directory(rules + "/yara") ? rules : "",
                      {{dir + "/" + file, "/in/" + file}}, {"/in/" + file}, ""};
  job.timeout = std::to_string(w.options.timeout_s + 240) + "s";
  if (job.airlock.empty() || job.scanner.empty()) {
    o.error = "airlock or airlock-scan not found (looked beside airlock-worker and in the install directory)";
    return o;
  }
  auto argv = runapi::ScanRequest(job).Argv();
  if (!argv) {
    o.error = "scan request: " + argv.error().What();
    return o;
  }
  auto r = process::SpawnAndCapture(*argv, HeartbeatOptions(msg, engine_.config().ack_wait, w.options.timeout_s));
  if (!r) {
    o.error = "start airlock scan: " + r.error().What();
    return o;
  }
  json report = json::parse(r->out, nullptr, false);
  if (!report.is_object() || r->exit_code == 2 || r->timed_out) {
    std::string err = r->err.substr(0, 400);
    o.error = "airlock scan exited " + std::to_string(r->exit_code) + (r->timed_out ? " (timed out)" : "") + ": " + err;
    return o;
  }
  ReadVerdict(report, o.verdict, o.score, o.techniques);
  o.report_json = r->out;
  o.ok = true;
  return o;
}

Worker::Outcome Worker::RunDetonation(const std::string& dir, const std::string& file, const WorkItem& w, WorkMessage& msg) {
  Outcome o;
  std::string airlock = FindHelper("airlock");
  if (airlock.empty()) {
    o.error = "airlock not found";
    return o;
  }
  std::string out = dir + "/report";
  std::vector<std::string> argv = {airlock, "analyze", dir + "/" + file, "--out", out, "--json", "-q",
                                   "--timeout", std::to_string(w.options.timeout_s) + "s"};
  auto r = process::SpawnAndCapture(argv, HeartbeatOptions(msg, engine_.config().ack_wait, w.options.timeout_s));
  if (!r) {
    o.error = "start airlock analyze: " + r.error().What();
    return o;
  }
  auto text = ReadRegularFileBounded(out + "/report.json", kMaxReport, "report larger than 256 MiB");
  auto html = ReadRegularFileBounded(out + "/report.html", kMaxReport, "report larger than 256 MiB");
  json report = text ? json::parse(*text, nullptr, false) : json();
  if (!report.is_object() || r->exit_code == 2 || r->timed_out) {
    o.error = "airlock analyze exited " + std::to_string(r->exit_code) + (r->timed_out ? " (timed out)" : "") + ": " +
              r->err.substr(0, 400);
    return o;
  }
  ReadVerdict(report, o.verdict, o.score, o.techniques);
  o.report_json = *text;
  if (html) o.report_html = *html;
  // The traffic and the behaviour events, kept beside the report (bounded; absent ones stay "").
  if (auto pcap = ReadRegularFileBounded(out + "/traffic.pcap", kMaxArtifact, "PCAP larger than 64 MiB")) o.pcap = std::move(*pcap);
  if (auto ev = ReadRegularFileBounded(out + "/events.jsonl", kMaxArtifact, "events larger than 64 MiB")) o.events = std::move(*ev);
  o.dropped = CollectDropped(report, out + "/work");
  o.ok = true;
  return o;
}

Worker::Outcome Worker::Analyse(const WorkItem& w, const std::string& sample, const std::string& name, int slot,
                                WorkMessage& msg) {
  Outcome o;
  std::string dir = cfg_.work_dir + "/slot" + std::to_string(slot);
  std::error_code ec;
  fs::remove_all(dir, ec);
  // The static scan's sandbox reads the staged sample as its host ids (root callers: the default
  // profile's unprivileged ids); analyze stages its own copy, so the detonation's stays ours.
  Result<HostIds> owner = w.options.kind == TaskKind::kStatic ? SandboxHostIds("default") : Result<HostIds>(HostIds{::geteuid(), ::getegid()});
  Status made = MakePrivateDirs(dir);
  if (!owner || !made) {
    o.error = "work directory " + dir + ": " + (owner ? made.error().What() : owner.error().What());
    return o;
  }
  if (Status st = StageFile(dir + "/" + name, sample, *owner); !st) {
    o.error = "stage sample: " + st.error().What();
    return o;
  }
  o = w.options.kind == TaskKind::kStatic ? RunStatic(dir, name, w, msg) : RunDetonation(dir, name, w, msg);
  fs::remove_all(dir, ec);
  return o;
}

void Worker::Handle(WorkMessage& msg, int slot) {
  auto item = ParseWork(json::parse(msg.Data(), nullptr, false));
  if (!item) {
    Log(cfg_.id, "dropping a malformed work item: " + item.error().What());
    (void)msg.Ack();
    return;
  }
  const WorkItem& w = *item;
  if (!(w.fingerprint == fp_)) {
    Log(cfg_.id, "refusing " + w.key.substr(0, 12) + ": made for airlock " + w.fingerprint.version + " (policy " +
                     w.fingerprint.policy_hash.substr(0, 12) + ", rules " + w.fingerprint.rules_hash.substr(0, 12) +
                     "), this worker cannot reproduce it");
    msg.Nak(std::chrono::seconds(5));
    return;
  }
  if (!w.avoid_worker.empty() && w.avoid_worker == cfg_.id) return PassOn(w, msg);
  // Claim the key: running, attempts + 1, by compare-and-set.
  uint64_t rev = 0;
  ResultRecord rec;
  for (int attempt = 0;; ++attempt) {
    auto cur = Persist(msg, [&] { return engine_.KvGet(kResultsBucket, w.key); });
    if (!cur) {
      Log(cfg_.id, "read result " + w.key.substr(0, 12) + ": " + cur.error().What());
      msg.Nak(std::chrono::seconds(2));
      return;
    }
    auto parsed = *cur ? ParseResult(json::parse((*cur)->value, nullptr, false)) : Result<ResultRecord>(MakeError("gone"));
    if (!parsed || parsed->state == TaskState::kDone) {
      (void)msg.Ack();  // done already (a redelivery after a lost ack) or deleted
      return;
    }
    rec = *parsed;
    rec.state = TaskState::kRunning;
    rec.attempts += 1;
    rec.worker = cfg_.id;
    rec.started_at = UtcTimeNow();
    rec.error.clear();
    auto upd = engine_.KvUpdate(kResultsBucket, w.key, DumpJson(ResultJson(rec)), (*cur)->revision);
    if (upd && *upd) {
      rev = **upd;
      break;
    }
    if (!upd || attempt >= 5) {
      msg.Nak(std::chrono::seconds(2));
      return;
    }
  }
  busy_++;
  auto t0 = std::chrono::steady_clock::now();
  Outcome o;
  auto sample = Persist(msg, [&] { return engine_.GetObject(kSamplesBucket, w.sha256, kMaxSample); });
  if (!sample || !*sample) {
    o.error = sample ? "sample " + w.sha256 + " is not in the store" : "read sample: " + sample.error().What();
  } else {
    o = Analyse(w, **sample, SafeSampleName(w.name), slot, msg);
  }
  rec.duration_ms = uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
  busy_--;
  if (o.ok) {
    json report = json::parse(o.report_json, nullptr, false);
    report["provenance"] = {{"fingerprint", FingerprintJson(fp_)}, {"worker", cfg_.id}, {"key", w.key},
                            {"attempt", rec.attempts}, {"analyzed_at", UtcTimeNow()}};
    if (o.report_html.empty()) {
      o.report_html = "<!doctype html><meta charset=utf-8><title>airlock static report</title><h1>" + HtmlEscape(o.verdict) +
                      "</h1><pre>" + HtmlEscape(DumpJson(report, 2)) + "</pre>";
    }
    auto store = [&](const std::string& name, const std::string& data) {
      return Persist(msg, [&] { return engine_.PutObject(kReportsBucket, w.key + name, data); });
    };
    Status put = store(".json", DumpJson(report, 2) + "\n");
    if (put) put = store(".html", o.report_html);
    if (put && !o.pcap.empty()) put = store(".pcap", o.pcap);
    if (put && !o.events.empty()) put = store(".events.jsonl", o.events);
    for (const auto& [sha, data] : o.dropped) {
      if (put) put = store(".dropped." + sha, data);
    }
    if (!put) {
      o.ok = false;
      o.error = "store reports: " + put.error().What();
    }
  }
  bool final_try = msg.Deliveries() >= uint64_t(engine_.config().max_deliver);
  if (o.ok) {
    rec.state = TaskState::kDone;
    rec.verdict = o.verdict, rec.score = o.score, rec.techniques = o.techniques;
    rec.fingerprint = fp_;
    rec.finished_at = UtcTimeNow();
    analyses_++;
  } else {
    failures_++;
    Log(cfg_.id, w.key.substr(0, 12) + " attempt " + std::to_string(rec.attempts) + " failed: " + o.error);
    rec.state = final_try ? TaskState::kFailed : TaskState::kQueued;
    rec.error = o.error;
    rec.finished_at = final_try ? UtcTimeNow() : "";
  }
  // Retried after a failover too: an update that did land answers "another revision" the second time,
  // and then the result stands.
  auto upd = Persist(msg, [&] { return engine_.KvUpdate(kResultsBucket, w.key, DumpJson(ResultJson(rec)), rev); });
  if (!upd) {
    Log(cfg_.id, "publish result " + w.key.substr(0, 12) + ": " + upd.error().What());
    msg.Nak(std::chrono::seconds(2));
    return;
  }
  if (!*upd) Log(cfg_.id, w.key.substr(0, 12) + ": another worker took this key over (redelivered); its result stands");
  if (o.ok || final_try || !*upd) {
    if (Status a = msg.Ack(); !a) Log(cfg_.id, a.error().What());
  } else {
    msg.Nak(std::chrono::seconds(1));
  }
}

// A verification of this worker's own result: handed back to the queue for another worker (after a
// pause, so that one fetches it first), at most kMaxVerifyHops times; then it fails, saying why.
void Worker::PassOn(const WorkItem& w, WorkMessage& msg) {
  if (w.hops < kMaxVerifyHops) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    WorkItem next = w;
    next.hops += 1;
    // One id for every try (a retried publish is not a second copy), unique across verifications.
    const std::string msg_id = fmt::format("{}.hop{}.{}.{}", w.key, next.hops, cfg_.id,
                                           std::chrono::steady_clock::now().time_since_epoch().count());
    Status pub = Persist(msg, [&] { return engine_.PublishWork(KindName(w.options.kind), DumpJson(WorkJson(next)), msg_id); });
    if (!pub) {
      Log(cfg_.id, "pass on verification " + w.key.substr(0, 12) + ": " + pub.error().What());
      msg.Nak(std::chrono::seconds(2));
      return;
    }
    (void)msg.Ack();
    return;
  }
  FailResultUnlessFinished(engine_, w.key,
                           "no worker other than " + cfg_.id + " took the verification (it cannot verify its own result)");
  (void)msg.Ack();
}

void Worker::Heartbeat() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  json j = {{"id", cfg_.id}, {"host", host}, {"pid", getpid()}, {"kinds", cfg_.kinds}, {"capacity", cfg_.capacity},
            {"busy", busy_.load()}, {"analyses", analyses_.load()}, {"failures", failures_.load()},
            {"airlock_version", fp_.version}, {"last_seen", UtcTimeNow()}};
  auto r = engine_.KvPut(kWorkersBucket, cfg_.id, DumpJson(j));
  if (!r) Log(cfg_.id, "heartbeat: " + r.error().What());
}

// Work already queued of any kind first (no waiting, starting at a kind that turns with each call, so
// no kind starves); only when every kind's queue is empty does the slot wait, on one kind at a time.
// Waiting first on an empty kind would idle the slot while another kind's tasks queue up (it cost
// each static task half a second beside an empty detonation queue).
Result<std::unique_ptr<WorkMessage>> Worker::NextWork(size_t& next) {
  const size_t n = cfg_.kinds.size();
  for (size_t i = 0; i < n; ++i) {
    auto m = engine_.FetchWork(cfg_.kinds[(next + i) % n], std::chrono::milliseconds(0));
    if (!m || *m) {
      next += i + 1;
      return m;
    }
  }
  return engine_.FetchWork(cfg_.kinds[next++ % n], std::chrono::milliseconds(n > 1 ? 500 : 1000));
}

void Worker::Run(const std::atomic<bool>& stop) {
  std::vector<std::jthread> slots;
  for (int slot = 0; slot < cfg_.capacity; ++slot) {
    slots.emplace_back([this, slot, &stop] {
      size_t next = size_t(slot);
      while (!stop) {
        auto m = NextWork(next);
        if (!m) {
          Log(cfg_.id, m.error().What());
          std::this_thread::sleep_for(std::chrono::seconds(1));  // the connection reconnects meanwhile
          continue;
        }
        if (*m) Handle(**m, slot);
      }
    });
  }
  while (!stop) {
    Heartbeat();
    for (auto t = std::chrono::steady_clock::now() + cfg_.heartbeat; !stop && std::chrono::steady_clock::now() < t;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  Heartbeat();
}

}  // namespace airlock::service
