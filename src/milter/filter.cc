#include "milter/filter.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <thread>

#include "analyze/runner.h"
#include "core/helper_path.h"
#include "core/json_text.h"
#include "core/report_envelope.h"
#include "core/private_dir.h"
#include "process/spawn.h"
#include "scan/hashes.h"

namespace airlock::milter {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// Work on a message (worker calls, analyses) stops this long before message_budget ends, so that even a
// message failed at its deadline is answered within the budget.
constexpr auto kReplyReserve = std::chrono::milliseconds(250);

// Whole-message verdicts are reused for a day (rule updates take effect within it); attachment
// detonation verdicts do not expire (the analysis is the expensive part).
constexpr int64_t kMessageCacheSeconds = 24 * 3600;

constexpr const char* kHeaderNames[3] = {"X-Airlock-Verdict", "X-Airlock-Score", "X-Airlock-Techniques"};

std::string Now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// SMTP reply text: printable ASCII only, no '%' (libmilter treats it as a format), bounded.
std::string ReplyText(const std::string& s) {
  std::string out;
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 32 || u > 126 || c == '%') c = '_';
    out += c;
    if (out.size() >= 200) break;
  }
  return out;
}

double Round1(double x) { return std::round(x * 10) / 10; }

double Ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Value of header `name` (case-insensitive) in a header block, unfolded; "" when absent.
std::string HeaderValue(const std::string& block, const std::string& name) {
  size_t pos = 0;
  while (pos < block.size()) {
    size_t eol = block.find('\n', pos);
    if (eol == std::string::npos) eol = block.size();
    std::string line = block.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.size() > name.size() && line[name.size()] == ':' &&
        strncasecmp(line.c_str(), name.c_str(), name.size()) == 0) {
      std::string v = line.substr(name.size() + 1);
      while (pos < block.size() && (block[pos] == ' ' || block[pos] == '\t')) {
        size_t e2 = block.find('\n', pos);
        if (e2 == std::string::npos) e2 = block.size();
        v += block.substr(pos, e2 - pos);
        pos = e2 + 1;
      }
      std::string t;
      for (char c : v)
        if (c != '\r') t += c;
      size_t b = t.find_first_not_of(" \t");
      return b == std::string::npos ? "" : t.substr(b);
    }
  }
  return "";
}

size_t BodyStart(const std::string& msg) {
  size_t a = msg.find("\r\n\r\n");
  size_t b = msg.find("\n\n");
  if (a != std::string::npos && (b == std::string::npos || a + 1 <= b)) return a + 4;
  if (b != std::string::npos) return b + 2;
  return msg.size();
}

}  // namespace

json RunAnalyze(const std::string& path, const std::string& out_dir, std::chrono::milliseconds timeout,
                Clock::time_point kill_at, const std::function<void()>& progress) {
  std::string airlock = FindHelper("airlock");
  if (airlock.empty()) return {{"error", "the airlock binary was not found"}};
  std::string secs = std::to_string(std::max<int64_t>(1, timeout.count() / 1000)) + "s";
  std::vector<std::string> argv = {airlock, "analyze", "--json", "-q", "--timeout", secs, "--out", out_dir, path};
  process::SpawnOptions options;  // stdin and stderr /dev/null; the JSON report on stdout
  options.capture_stderr = false;
  // SIGKILL at the deadline, or when the milter dies: analyze's own `airlock run` children die with it
  // (it starts them with kill_with_caller) and their sandboxes with them, so nothing outlives the budget.
  options.deadline = kill_at;
  options.kill_with_caller = true;
  options.on_tick = progress;
  auto r = process::SpawnAndCapture(argv, options);
  if (!r) return {{"error", r.error().What()}};
  if (r->timed_out) return {{"error", "airlock analyze overran its time and was killed"}, {"overran", true}};
  json j = json::parse(r->out, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {{"error", fmt::format("airlock analyze failed (status {})", r->exit_code)}};
  return j;
}

Filter::Filter(MilterConfig config, std::unique_ptr<WorkerPool> pool, std::unique_ptr<VerdictCache> cache)
    : config_(std::move(config)),
      pool_(std::move(pool)),
      cache_(std::move(cache)),
      store_(config_.state_dir),
      slots_(config_.detonation_concurrency > 0 ? config_.detonation_concurrency
                                                : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
             config_.queue) {
  if (config_.log == "-" || config_.log.empty()) {
    log_ = stderr;
  } else {
    log_ = std::fopen(config_.log.c_str(), "ae");
    own_log_ = log_ != nullptr;
    if (log_ == nullptr) log_ = stderr;
  }
}

Filter::~Filter() {
  if (own_log_) std::fclose(log_);
}

void Filter::Log(const json& line) {
  std::string s = DumpJson(line) + "\n";
  std::lock_guard lock(log_mu_);
  std::fwrite(s.data(), 1, s.size(), log_);
  std::fflush(log_);
}

// A message's log line: the report envelope (core/report_envelope.h, command "milter"; started when
// the message's processing began, duration up to now), then the line's own fields.
void Filter::LogMessage(Clock::time_point start, json line) {
  const auto since = std::chrono::duration_cast<std::chrono::system_clock::duration>(Clock::now() - start);
  StampReportEnvelope(line, "milter", ReportClock{std::chrono::system_clock::now() - since, start});
  Log(line);
}

void Filter::FlushStats(const char* why) {
  json s = stats_.ToJson();
  s["time"] = Now();
  s["respawns"] = pool_ ? pool_->respawns() : 0;
  s["fail_open_enabled"] = config_.fail_open;
  Log({{"time", Now()}, {"stats", s}, {"why", why}});
  std::string path = config_.state_dir + "/stats.json";
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << DumpJson(s, 2) << "\n";
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
}

void Filter::Drain(std::chrono::milliseconds max_wait) {
  auto until = Clock::now() + max_wait;
  while (Clock::now() < until) {
    {
      std::lock_guard lock(bg_mu_);
      if (bg_running_ == 0) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Outcome Filter::Fail(const Envelope& env, uint64_t size, const std::string& error, Clock::time_point start, MtaActions& mta) {
  bool open = config_.fail_open;
  double ms = Ms(start);
  LogMessage(start, {{"time", Now()}, {"queue_id", env.queue_id}, {"from", env.from}, {"rcpt", env.rcpts}, {"size", size},
       {"attachments", json::array()}, {"verdict", "error"}, {"state", "unscanned"}, {"score", 0.0}, {"techniques", json::array()},
       {"action", open ? "accept" : "tempfail"}, {"cached", false}, {"latency_ms", Round1(ms)}, {"fail_open", open},
       {"error", open ? "FAIL-OPEN: delivered unscanned: " + error : error}});
  stats_.Record("unscanned", open ? "accept" : "tempfail", !open, open, false, ms);
  if (open) return Outcome::kAccept;
  mta.SetReply("451", "4.7.1", ReplyText("airlock: " + error + "; try again later"));
  return Outcome::kTempfail;
}

Filter::DetonationResult Filter::Detonate(const json& extracted, const std::string& payload, MessageAssessment& a,
                                          bool& cached, Clock::time_point deadline, MtaActions& mta) {
  DetonationResult res;
  // `deadline` already leaves time to answer the MTA (kReplyReserve).
  const auto kill_at = deadline;
  for (const auto& x : extracted) {
    std::string sha = x.value("sha256", "");
    if (sha.empty()) continue;
    if (cache_) {
      if (auto e = cache_->Get("detonation", sha)) {
        json d = json::parse(e->detail, nullptr, false);
        MergeVerdict(a, sha, e->verdict, e->score, d.is_object() ? d.value("techniques", std::vector<std::string>{}) : std::vector<std::string>{});
        cached = true;
        continue;
      }
    }
    size_t off = x.value("offset", size_t{0}), len = x.value("length", size_t{0});
    if (off > payload.size() || len > payload.size() - off) continue;
    std::string name = x.value("name", "sample");
    std::string dir = config_.state_dir + "/analysis/" + sha;
    if (!MakePrivateDirs(dir)) continue;  // (the state directory is not writable: no detonation)
    std::string sample = dir + "/" + analyze::SafeSampleName(name);
    {
      std::ofstream f(sample, std::ios::binary | std::ios::trunc);
      f.write(payload.data() + off, static_cast<std::streamsize>(len));
    }
    auto store = [this, sha](const json& r) {
      if (!cache_ || r.contains("error") || ReportVerdict(r) == kVerdictError) return;  // unjudged: asked again
      json d = {{"techniques", r.value("techniques", std::vector<std::string>{})}, {"runner", r.value("runner", json::object())}};
      (void)cache_->Put("detonation", sha, CacheEntry{ReportVerdict(r), r.value("score", 0.0), DumpJson(d), 0});
    };
    if (config_.detonation_mode == "tempfail") {
      // A pending marker older than an analysis can take is stale (the daemon stopped under it).
      auto stale_after = std::chrono::duration_cast<std::chrono::seconds>(config_.detonation_timeout * 2).count() + 60;
      if (auto p = cache_ ? cache_->Get("pending", sha) : std::nullopt; p && std::time(nullptr) - p->time < stale_after) {
        res.pending = true;
        continue;
      }
      {
        // Back-pressure: with the detonation queue full, nothing is started; the retry asks again.
        std::lock_guard lock(bg_mu_);
        if (bg_running_ >= slots_.limit() + config_.queue) {
          res.pending = true;
          continue;
        }
        ++bg_running_;
      }
      if (cache_) (void)cache_->Put("pending", sha, CacheEntry{"pending", 0, "{}", 0});
      std::thread([this, sample, dir, sha, store] {
        {
          DetonationSlot slot(slots_, Clock::time_point::max());
          // The analysis itself may take `timeout` plus static triage and setup: allow twice, then kill.
          auto t = config_.detonation_timeout;
          store(RunAnalyze(sample, dir + "/out", t, Clock::now() + t * 2 + std::chrono::seconds(10), nullptr));
        }
        if (cache_) (void)cache_->Erase("pending", sha);
        std::lock_guard lock(bg_mu_);
        --bg_running_;
      }).detach();
      res.pending = true;
      continue;
    }
    // Inline: wait for a free analysis slot (at most [detonation].concurrency run at once), leaving at
    // least a second of the budget for the analysis itself.
    DetonationSlot slot(slots_, kill_at - std::chrono::seconds(1));
    if (slot.result() != DetonationSlots::Wait::kAcquired) {
      res.error = slot.result() == DetonationSlots::Wait::kOverloaded
                      ? fmt::format("detonation of {}: overloaded ({} analyses running, {} waiting)", name, slots_.running(),
                                    slots_.waiting())
                      : fmt::format("detonation of {}: no analysis slot became free within message_budget", name);
      return res;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(kill_at - Clock::now());
    // Half of what is left for the sample to run: the rest is for sandbox setup, static triage, rules.
    auto t = std::min(config_.detonation_timeout, left / 2);
    if (t.count() < 1000) {
      res.error = fmt::format("detonation of {}: message_budget exhausted before the analysis could start", name);
      return res;
    }
    json r = RunAnalyze(sample, dir + "/out", t, kill_at, [&mta] { mta.Progress(); });
    if (r.value("overran", false)) {
      res.error = fmt::format("detonation of {}: analysis killed at message_budget ({} ms)", name, config_.message_budget.count());
      return res;
    }
    if (r.contains("error")) {
      res.error = fmt::format("detonation of {}: {}", name, r.value("error", "failed"));
      return res;
    }
    store(r);
    MergeVerdict(a, sha, ReportVerdict(r), r.value("score", 0.0), r.value("techniques", std::vector<std::string>{}));
  }
  return res;
}

Outcome Filter::Process(const Envelope& env, const std::string& message, size_t body_offset, uint64_t oversize_size,
                        MtaActions& mta) {
  auto start = Clock::now();
  auto deadline = start + config_.message_budget - kReplyReserve;
  uint64_t size = oversize_size > 0 ? oversize_size : message.size();
  if (oversize_size > 0) {
    return Fail(env, size, fmt::format("message of {} bytes is larger than max_message_size ({})", oversize_size,
                                       config_.max_message_size), start, mta);
  }
  // The message key covers what decides the verdict: the body, and whether (and what) we detonate.
  std::string body_sha = scan::Sha256Hex(std::string_view(message).substr(std::min(body_offset, message.size())));
  if (config_.detonation_enabled) {
    std::string kinds;
    for (const auto& k : config_.detonation_kinds) kinds += k + ",";
    body_sha += ":detonate=" + kinds;
  }
  MessageAssessment a;
  json report = json::object();
  bool cached = false;            // the whole message answered from the cache
  bool detonation_cached = false; // some attachment's detonation verdict came from the cache
  json timing = json::object();   // where the time went (ms): queued, worker, detonation
  if (cache_) {
    if (auto e = cache_->Get("message", body_sha); e && std::time(nullptr) - e->time < kMessageCacheSeconds) {
      json d = json::parse(e->detail, nullptr, false);
      if (d.is_object() && d.contains("assessment")) {
        a = AssessmentFromJson(d["assessment"]);
        report = d.value("report", json::object());
        cached = true;
      }
    }
  }
  if (!cached) {
    json req = {{"op", "scan"}, {"name", "message.eml"}};
    if (config_.detonation_enabled) req["extract_kinds"] = config_.detonation_kinds;
    CallResult r = pool_->Call(DumpJson(req), message, deadline);
    timing["queued"] = Round1(r.queued_ms);
    timing["worker"] = Round1(r.worker_ms);
    if (r.error != CallError::kNone) return Fail(env, size, std::string("static triage: ") + CallErrorName(r.error) + ": " + r.detail, start, mta);
    json reply = json::parse(r.reply.header, nullptr, false);
    if (reply.is_discarded() || !reply.value("ok", false)) {
      return Fail(env, size, "static triage: " + (reply.is_discarded() ? std::string("bad reply") : reply.value("error", "failed")), start, mta);
    }
    report = std::move(reply["report"]);
    a = AssessReport(report);
    if (config_.detonation_enabled && reply.contains("extracted") && !reply["extracted"].empty()) {
      auto det_start = Clock::now();
      DetonationResult det = Detonate(reply["extracted"], r.reply.payload, a, detonation_cached, deadline, mta);
      timing["detonation"] = Round1(Ms(det_start));
      // An attachment that could not be detonated in time: unjudged, so the message fails closed, unless
      // static triage already condemns it (then that verdict stands and the analysis is not needed).
      if (!det.error.empty() && a.verdict != "malicious") return Fail(env, size, det.error, start, mta);
      if (det.pending) {
        if (a.verdict == "malicious") {
          // Static triage already condemns it: no need to wait for the analysis.
        } else {
          // Not an error: the tempfail-and-retry mode. fail_open does not apply.
          double ms = Ms(start);
          LogMessage(start, {{"time", Now()}, {"queue_id", env.queue_id}, {"from", env.from}, {"rcpt", env.rcpts}, {"size", size},
               {"attachments", json::array()}, {"verdict", "error"}, {"state", "pending"}, {"score", Round1(a.score)}, {"techniques", a.techniques},
               {"action", "tempfail"}, {"cached", false}, {"latency_ms", Round1(ms)}, {"fail_open", false},
               {"error", "attachment analysis in progress"}});
          stats_.Record("pending", "tempfail", true, false, false, ms);
          mta.SetReply("451", "4.7.1", "airlock: attachment analysis in progress; try again later");
          return Outcome::kTempfail;
        }
      }
    }
    // A message (or attachment) that static triage or its analysis could not judge is never
    // accepted as clean: it fails like an unscanned one (tempfail, or FAIL-OPEN when configured).
    if (a.verdict == kVerdictError) return Fail(env, size, "the message could not be judged (scan verdict \"error\")", start, mta);
    if (cache_) {
      json d = {{"assessment", AssessmentToJson(a)}};
      std::string rep = DumpJson(report);
      if (rep.size() < (1u << 20)) d["report"] = report;
      (void)cache_->Put("message", body_sha, CacheEntry{a.verdict, a.score, DumpJson(d), 0});
    }
  }

  Action action = ActionFor(config_, a.verdict);
  std::string error;
  Outcome outcome = Outcome::kAccept;
  bool tag = config_.tag_all || action == Action::kTag;
  std::string reason = fmt::format("{} content (score {:.1f}{}{})", a.verdict, a.score, a.techniques.empty() ? "" : ": ",
                                   Join(a.techniques));
  switch (action) {
    case Action::kAccept:
    case Action::kTag:
      break;
    case Action::kReject:
      mta.SetReply("550", config_.reject_reply, ReplyText("airlock: message rejected: " + reason));
      outcome = Outcome::kReject;
      tag = false;
      break;
    case Action::kDiscard:
      outcome = Outcome::kDiscard;
      tag = false;
      break;
    case Action::kQuarantine: {
      QuarantineMeta meta{"", env.queue_id, env.from, env.rcpts, Now(), a.verdict, Round1(a.score), a.techniques};
      auto id = store_.Add(meta, message, DumpJson(report, 2) + "\n");
      if (!id) return Fail(env, size, id.error().What(), start, mta);
      if (config_.quarantine_hold) {
        if (!mta.Quarantine(ReplyText("airlock " + *id + ": " + reason))) {
          return Fail(env, size, "the MTA refused to quarantine the message", start, mta);
        }
        tag = true;
      } else {
        outcome = Outcome::kDiscard;
        tag = false;
      }
      error.clear();
      break;
    }
    case Action::kStrip: {
      auto remove = StripSet(config_, a);
      if (remove.empty()) break;  // nothing attributable to one attachment: tag only
      json req = {{"op", "strip"}, {"remove", json::object()}};
      for (const auto& [sha, why] : remove) {
        req["remove"][sha] = {{"verdict", why.verdict}, {"score", why.score}, {"techniques", why.techniques}};
      }
      CallResult r = pool_->Call(DumpJson(req), message, deadline);
      if (r.error != CallError::kNone) return Fail(env, size, std::string("strip: ") + CallErrorName(r.error) + ": " + r.detail, start, mta);
      json reply = json::parse(r.reply.header, nullptr, false);
      if (reply.is_discarded() || !reply.value("ok", false)) {
        return Fail(env, size, "strip: " + (reply.is_discarded() ? std::string("bad reply") : reply.value("error", "failed")), start, mta);
      }
      const std::string& rewritten = r.reply.payload;
      size_t nb = BodyStart(rewritten);
      if (!mta.ReplaceBody(rewritten.substr(nb))) return Fail(env, size, "the MTA refused the new body", start, mta);
      std::string old_head = message.substr(0, std::min(body_offset, message.size()));
      std::string new_head = rewritten.substr(0, nb);
      for (const char* h : {"Content-Type", "Content-Transfer-Encoding", "Content-Disposition"}) {
        std::string ov = HeaderValue(old_head, h), nv = HeaderValue(new_head, h);
        if (ov == nv) continue;
        if (ov.empty()) mta.AddHeader(h, nv);
        else mta.ChangeHeader(h, 1, nv.empty() ? nullptr : &nv);
      }
      tag = true;
      break;
    }
  }
  if (tag) {
    for (int i = 0; i < 3; ++i) {
      for (int k = env.existing_airlock_headers[i]; k >= 1; --k) mta.ChangeHeader(kHeaderNames[i], k, nullptr);
    }
    mta.AddHeader(kHeaderNames[0], a.verdict);
    mta.AddHeader(kHeaderNames[1], fmt::format("{:.1f}", a.score));
    if (!a.techniques.empty()) mta.AddHeader(kHeaderNames[2], Join(a.techniques));
  }
  double ms = Ms(start);
  json atts = json::array();
  for (const auto& at : a.attachments) {
    // "sha256": the deprecated name of hashes.sha256 (docs/REPORT.md), kept for one release.
    atts.push_back({{"name", at.name}, {"type", at.type}, {"hashes", ReportHashes(at.sha256)}, {"sha256", at.sha256}, {"verdict", at.verdict}});
  }
  json line = {{"time", Now()}, {"queue_id", env.queue_id}, {"from", env.from}, {"rcpt", env.rcpts}, {"size", size},
               {"attachments", atts}, {"verdict", a.verdict}, {"state", "judged"}, {"score", Round1(a.score)}, {"techniques", a.techniques},
               {"action", ActionName(action)}, {"cached", cached || detonation_cached}, {"latency_ms", Round1(ms)}, {"fail_open", false}};
  if (!timing.empty()) line["timing_ms"] = timing;
  LogMessage(start, std::move(line));
  stats_.Record(a.verdict, ActionName(action), false, false, cached || detonation_cached, ms);
  return outcome;
}

}  // namespace airlock::milter
