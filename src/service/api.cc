#include "service/api.h"

#include <fmt/format.h>
#include <httplib.h>

#include <iostream>

#include "core/clock.h"
#include "core/json_text.h"
#include "core/navigator_layer.h"
#include "service/digest.h"
#include "service/results.h"

namespace airlock::service {
namespace {

using nlohmann::json;
constexpr size_t kMaxReportServed = size_t(256) << 20;
constexpr char kReportCsp[] = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(DumpJson(body), "application/json");
}
void Fail(httplib::Response& res, int status, const std::string& message) { Reply(res, status, json{{"error", message}}); }

std::optional<uint64_t> PathId(const httplib::Request& req, httplib::Response& res) {
  auto id = req.matches.size() > 1 ? ParseTaskId(req.matches[1].str()) : std::nullopt;
  if (!id) Fail(res, 400, "task id must be a positive whole number");
  return id;
}

// A URL submission becomes a small Internet-shortcut sample (static triage reads it; docs/SERVICE.md).
Result<std::string> UrlSample(const std::string& url) {
  if (url.size() > 2048) return MakeError("url is longer than 2048 bytes");
  if (!url.starts_with("http://") && !url.starts_with("https://")) return MakeError("url must start with http:// or https://");
  for (unsigned char c : url) {
    if (c <= 0x20 || c == 0x7f) return MakeError("url must not contain spaces or control characters");
  }
  return "[InternetShortcut]\r\nURL=" + url + "\r\n";
}

std::string fmt_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

}  // namespace

Api::Api(Engine& engine, KeyRing keys, Fingerprint fp, ApiConfig cfg)
    : engine_(engine), keys_(std::move(keys)), fp_(std::move(fp)), cfg_(cfg), limiter_(cfg.rate_per_s, cfg.burst) {}
Api::~Api() = default;

Status Api::Start() {
  std::atomic<int> ready{0};
  auto on_task = [this](const std::string& k, const std::optional<std::string>& v, uint64_t) {
    auto id = ParseTaskId(k);
    if (!id) return;
    if (!v) return index_.DeleteTask(*id);
    if (auto t = ParseTask(json::parse(*v, nullptr, false))) index_.PutTask(*t);
  };
  auto on_result = [this](const std::string& k, const std::optional<std::string>& v, uint64_t rev) {
    if (!v) return index_.DeleteResult(k);
    if (auto r = ParseResult(json::parse(*v, nullptr, false))) index_.PutResult(k, *r, rev);
  };
  auto on_worker = [this](const std::string& k, const std::optional<std::string>& v, uint64_t rev) {
    std::lock_guard lock(workers_mu_);
    if (!v) {
      workers_.erase(k);
      return;
    }
    if (auto it = workers_.find(k); it != workers_.end() && it->second.revision >= rev) return;
    json beat = json::parse(*v, nullptr, false);
    if (beat.is_object()) workers_[k] = WorkerSeen{beat, std::chrono::steady_clock::now(), rev};
  };
  auto mark = [&ready] { ready++; };
  AIRLOCK_TRY_STATUS(engine_.Watch(kTasksBucket, on_task, mark), "task index");
  AIRLOCK_TRY_STATUS(engine_.Watch(kResultsBucket, on_result, mark), "task index");
  AIRLOCK_TRY_STATUS(engine_.Watch(kWorkersBucket, on_worker, mark), "worker list");
  AIRLOCK_TRY_STATUS(engine_.OnDeadLetter([this](const std::string& k, uint64_t s, const std::string& d) { OnDead(k, s, d); }),
                     "dead letters");
  for (int i = 0; i < 600 && ready < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (ready < 3) return MakeError("the KV watchers did not deliver the current state within 30 s");
  return Ok();
}

// A message that exhausted MaxDeliver: its key fails (unless a worker finished it meanwhile).
void Api::OnDead(const std::string& kind, uint64_t seq, const std::string& data) {
  dead_++;
  auto w = ParseWork(json::parse(data, nullptr, false));
  std::cerr << "airlock serve: " << kind << " work #" << seq << " exhausted its deliveries: dead letter\n";
  if (!w) return;
  FailResultUnlessFinished(engine_, w->key,
                           "no worker finished it in " + std::to_string(engine_.config().max_deliver) +
                               " deliveries (workers crashed or timed out); moved to the dead-letter stream");
}

std::optional<Api::Caller> Api::Authorize(const httplib::Request& req, httplib::Response& res, Role need) {
  std::string presented = PresentedKey(req.get_header_value("Authorization"), req.get_header_value("X-API-Key"));
  if (presented.empty()) {
    res.set_header("WWW-Authenticate", "Bearer");
    Fail(res, 401, "an API key is required: send \"Authorization: Bearer <key>\" (or X-API-Key)");
    return std::nullopt;
  }
  auto key = keys_.Find(presented);
  if (!key) {
    res.set_header("WWW-Authenticate", "Bearer");
    Fail(res, 401, "unknown API key");
    return std::nullopt;
  }
  if (key->role < need) {
    Fail(res, 403, std::string("this key's role is ") + RoleName(key->role) + "; this needs " + RoleName(need));
    return std::nullopt;
  }
  return Caller{key->name, key->role};
}

bool Api::RateLimited(const Caller& c, httplib::Response& res) {
  int wait = limiter_.Take(c.name, RateLimiter::Clock::now());
  if (wait == 0) return false;
  rate_limited_++;
  res.set_header("Retry-After", std::to_string(wait));
  Fail(res, 429, "too many submissions for key '" + c.name + "': retry after " + std::to_string(wait) + " s");
  return true;
}

Result<bool> Api::QueueKey(const std::string& key, const WorkItem& w, bool again) {
  ResultRecord r;
  r.state = TaskState::kQueued;
  r.task = w.task;
  r.sha256 = w.sha256;
  r.options = w.options;
  r.queued_at = UtcTimeNow();
  const std::string ours = DumpJson(ResultJson(r));
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto cur = engine_.KvGet(kResultsBucket, key);
    if (!cur) return std::unexpected(cur.error());
    std::optional<uint64_t> rev;
    if (!*cur) {
      auto c = engine_.KvCreate(kResultsBucket, key, ours);
      if (!c) return std::unexpected(c.error());
      if (!*c) continue;  // another submission created it first, or our create landed unanswered
      rev = *c;
    } else if (FoundRecord found = JudgeFoundRecord((*cur)->value, ours, again); found == FoundRecord::kOurs) {
      rev = (*cur)->revision;
    } else if (found == FoundRecord::kShare) {
      if (auto old = ParseResult(json::parse((*cur)->value, nullptr, false))) index_.PutResult(key, *old, (*cur)->revision);
      return false;  // queued, running or done: this submission shares it
    } else {
      auto u = engine_.KvUpdate(kResultsBucket, key, ours, (*cur)->revision);
      if (!u) return std::unexpected(u.error());
      if (!*u) continue;
      rev = *u;
    }
    index_.PutResult(key, r, *rev);
    Status pub = engine_.PublishWork(KindName(w.options.kind), DumpJson(WorkJson(w)), key + "." + std::to_string(*rev));
    if (!pub) {
      r.state = TaskState::kFailed;
      r.error = "could not queue: " + pub.error().What();
      auto failed = engine_.KvUpdate(kResultsBucket, key, DumpJson(ResultJson(r)), *rev);
      if (failed && *failed) index_.PutResult(key, r, **failed);
      return std::unexpected(pub.error());
    }
    return true;
  }
  return MakeError("result record " + key.substr(0, 12) + ": too much contention");
}

Result<Api::Submitted> Api::Submit(const std::string& bytes, const std::string& name, const std::string& work_name,
                                   const SubmitOptions& o, const std::string& submitter) {
  TaskRecord t;
  t.sha256 = Sha256Hex(bytes);
  t.name = name.substr(0, 255);
  t.size = bytes.size();
  t.options = o;
  t.submitter = submitter;
  t.submitted_at = UtcTimeNow();
  t.key = DedupeKey(t.sha256, o, fp_);
  AIRLOCK_TRY_STATUS(engine_.PutObject(kSamplesBucket, t.sha256, bytes), "store sample");
  auto id = engine_.NextTaskId();
  if (!id) return std::unexpected(id.error());
  t.id = *id;
  auto put = engine_.KvPut(kTasksBucket, std::to_string(t.id), DumpJson(TaskJson(t)));
  if (!put) return std::unexpected(put.error());
  index_.PutTask(t);
  WorkItem w{t.key, t.id, t.sha256, work_name, o, fp_};
  auto queued = QueueKey(t.key, w);
  if (!queued) return std::unexpected(queued.error());
  submissions_++;
  if (!*queued) duplicates_++;
  auto view = index_.Get(t.id);
  return Submitted{t.id, t.sha256, view ? view->State() : TaskState::kQueued, !*queued};
}

void Api::PostTask(const httplib::Request& req, httplib::Response& res) {
  auto caller = Authorize(req, res, Role::kSubmit);
  if (!caller || RateLimited(*caller, res)) return;
  std::string bytes, name, work_name;
  Result<SubmitOptions> opts = SubmitOptions{};
  if (req.is_multipart_form_data()) {
    if (!req.has_file("file")) return Fail(res, 400, "multipart submission without a 'file' part");
    if (req.files.count("file") > 1) return Fail(res, 400, "one 'file' part per submission");
    const auto& f = req.get_file_value("file");
    bytes = f.content;
    name = f.filename.empty() ? "sample" : f.filename;
    work_name = name;
    std::map<std::string, std::string> fields;
    for (const auto& [k, v] : req.files) {
      if (k != "file") fields[k] = v.content;
    }
    opts = ParseSubmitOptions(fields);
  } else {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return Fail(res, 400, "the body must be multipart/form-data with a 'file' part, or a JSON object {\"url\": ...}");
    if (!body.contains("url") || !body["url"].is_string()) return Fail(res, 400, "JSON submission needs a string 'url'");
    auto sample = UrlSample(body["url"].get<std::string>());
    if (!sample) return Fail(res, 400, sample.error().message());
    bytes = *sample;
    name = body["url"].get<std::string>();
    work_name = "link.url";
    body.erase("url");
    opts = ParseSubmitOptionsJson(body);
  }
  if (!opts) return Fail(res, 400, opts.error().message());
  if (bytes.empty()) return Fail(res, 400, "the file is empty");
  auto s = Submit(bytes, name, work_name, *opts, caller->name);
  if (!s) return Fail(res, 503, "the analysis store is unavailable: " + s.error().What());
  Reply(res, 201, json{{"task_id", s->id}, {"sha256", s->sha256}, {"state", StateName(s->state)}, {"duplicate", s->duplicate}});
}

void Api::GetTasks(const httplib::Request& req, httplib::Response& res) {
  if (!Authorize(req, res, Role::kRead)) return;
  std::multimap<std::string, std::string> params(req.params.begin(), req.params.end());
  auto q = ParseSearchQuery(params);
  if (!q) return Fail(res, 400, q.error().message());
  json out = json::array();
  for (const auto& v : index_.Search(*q)) out.push_back(TaskViewJson(v));
  Reply(res, 200, json{{"tasks", out}});
}

std::optional<TaskView> Api::RequestedTask(const httplib::Request& req, httplib::Response& res, Role need) {
  if (!Authorize(req, res, need)) return std::nullopt;
  auto id = PathId(req, res);
  if (!id) return std::nullopt;
  auto v = index_.Get(*id);
  if (!v) Fail(res, 404, "no task " + std::to_string(*id));
  return v;
}

void Api::GetTask(const httplib::Request& req, httplib::Response& res) {
  auto v = RequestedTask(req, res, Role::kRead);
  if (!v) return;
  Reply(res, 200, TaskViewJson(*v));
}

void Api::GetReport(const httplib::Request& req, httplib::Response& res, Artifact what) {
  struct Kind {
    const char* suffix;
    const char* type;
    const char* name;
  };
  static const Kind kKinds[] = {{".json", "application/json", "report"},
                                {".html", "text/html; charset=utf-8", "HTML report"},
                                {".pcap", "application/vnd.tcpdump.pcap", "PCAP (the sinkhole's traffic)"},
                                {".events.jsonl", "application/x-ndjson", "behaviour events"}};
  const Kind& k = kKinds[static_cast<int>(what)];
  auto v = RequestedTask(req, res, Role::kRead);
  if (!v) return;
  const uint64_t id = v->task.id;
  if (v->State() != TaskState::kDone) return Fail(res, 409, std::string("task ") + std::to_string(id) + " is " + StateName(v->State()) + ": no report yet");
  const bool detonation_only = what == Artifact::kPcap || what == Artifact::kEvents;
  if (detonation_only && v->task.options.kind != TaskKind::kDetonate) {
    return Fail(res, 404, fmt::format("task {} is a static analysis: no {} (only detonations have them)", id, k.name));
  }
  auto r = engine_.GetObject(kReportsBucket, v->task.key + k.suffix, kMaxReportServed);
  if (!r) return Fail(res, 503, "report store: " + r.error().What());
  if (!*r) return Fail(res, 404, fmt::format("the {} of task {} is not in the store", k.name, id));
  res.status = 200;
  if (what == Artifact::kHtml) res.set_header("Content-Security-Policy", kReportCsp);
  if (what == Artifact::kPcap) res.set_header("Content-Disposition", fmt::format("attachment; filename=\"task-{}.pcap\"", id));
  res.set_content(**r, k.type);
}

void Api::GetDropped(const httplib::Request& req, httplib::Response& res) {
  auto v = RequestedTask(req, res, Role::kRead);
  if (!v) return;
  const uint64_t id = v->task.id;
  const std::string sha = req.matches.size() > 2 ? std::string(req.matches[2]) : "";
  if (!IsSha256Hex(sha)) return Fail(res, 400, "a dropped file is named by its SHA-256 (64 lower-case hex digits)");
  if (v->State() != TaskState::kDone) return Fail(res, 409, std::string("task ") + std::to_string(id) + " is " + StateName(v->State()) + ": no report yet");
  if (v->task.options.kind != TaskKind::kDetonate) return Fail(res, 404, fmt::format("task {} is a static analysis: nothing was dropped", id));
  auto r = engine_.GetObject(kReportsBucket, v->task.key + ".dropped." + sha, kMaxReportServed);
  if (!r) return Fail(res, 503, "report store: " + r.error().What());
  if (!*r) return Fail(res, 404, fmt::format("task {} kept no dropped file {} (see the report's dropped list)", id, sha));
  res.status = 200;
  res.set_header("Content-Disposition", fmt::format("attachment; filename=\"{}.bin\"", sha));
  res.set_content(**r, "application/octet-stream");
}

void Api::GetNavigator(const httplib::Request& req, httplib::Response& res) {
  auto v = RequestedTask(req, res, Role::kRead);
  if (!v) return;
  const uint64_t id = v->task.id;
  // The layer of the task's result (core/navigator_layer.h): its techniques at its score.
  json result = json::object();
  if (v->result) result = {{"techniques", v->result->techniques}, {"score", v->result->score}};
  Reply(res, 200, NavigatorLayer(result, "airlock task " + std::to_string(id), "Techniques airlock observed in " + Utf8Text(v->task.name)));
}

// Reproducible verdicts: the task's analysis run again by another worker (POST), and the two compared
// (GET). The verification's record is the key's plus ".verify" (task_model.h).
void Api::PostVerify(const httplib::Request& req, httplib::Response& res) {
  auto v = RequestedTask(req, res, Role::kSubmit);
  if (!v) return;
  const uint64_t id = v->task.id;
  if (v->State() != TaskState::kDone) return Fail(res, 409, fmt::format("task {} is {}: only a finished analysis can be verified", id, StateName(v->State())));
  if (!(v->result->fingerprint == fp_)) {
    return Fail(res, 409, fmt::format("task {} was analysed by airlock {} with other rules or policy than this service's: submit it again instead", id, v->result->fingerprint.version));
  }
  WorkItem w{VerifyKey(v->task.key), v->result->task, v->task.sha256, v->task.name, v->task.options, fp_, v->result->worker, 0};
  auto queued = QueueKey(w.key, w, /*again=*/true);
  if (!queued) return Fail(res, 503, "queue the verification: " + queued.error().What());
  if (!*queued) return Fail(res, 409, fmt::format("task {} is being verified already: GET /api/v1/tasks/{}/verify", id, id));
  res.set_header("Location", fmt::format("/api/v1/tasks/{}/verify", id));
  Reply(res, 202, json{{"task_id", id}, {"state", "queued"}, {"avoid_worker", w.avoid_worker}});
}

void Api::GetVerify(const httplib::Request& req, httplib::Response& res) {
  auto v = RequestedTask(req, res, Role::kRead);
  if (!v) return;
  const uint64_t id = v->task.id;
  auto cur = engine_.KvGet(kResultsBucket, VerifyKey(v->task.key));
  if (!cur) return Fail(res, 503, "result store: " + cur.error().What());
  if (!*cur) return Fail(res, 404, fmt::format("task {} was never verified: POST /api/v1/tasks/{}/verify", id, id));
  auto again = ParseResult(json::parse((*cur)->value, nullptr, false));
  if (!again || !v->result) return Fail(res, 500, "unreadable verification record");
  Reply(res, 200, VerificationJson(*v->result, *again));
}

void Api::DeleteTask(const httplib::Request& req, httplib::Response& res) {
  if (!Authorize(req, res, Role::kAdmin)) return;
  auto id = PathId(req, res);
  if (!id) return;
  if (!index_.Get(*id)) return Fail(res, 404, "no task " + std::to_string(*id));
  Status st = engine_.KvDelete(kTasksBucket, std::to_string(*id));
  if (!st) return Fail(res, 503, st.error().What());
  index_.DeleteTask(*id);
  Reply(res, 200, json{{"deleted", *id}});
}

json Api::WorkersJson() {
  std::lock_guard lock(workers_mu_);
  json out = json::array();
  auto now = std::chrono::steady_clock::now();
  for (const auto& [id, w] : workers_) {
    json j = w.beat;
    j["alive"] = now - w.at <= cfg_.worker_alive;
    j["seen_s_ago"] = std::chrono::duration_cast<std::chrono::seconds>(now - w.at).count();
    out.push_back(j);
  }
  return out;
}

void Api::GetStatus(const httplib::Request& req, httplib::Response& res) {
  if (!Authorize(req, res, Role::kRead)) return;
  json queue = json::object();
  for (const auto& k : WorkKinds()) {
    auto d = engine_.QueueDepth(k);
    queue[k] = d ? json(*d) : json(nullptr);
  }
  auto dead = engine_.DeadLetters();
  Reply(res, 200, json{{"workers", WorkersJson()}, {"queue", queue}, {"tasks", index_.TasksByState()},
                       {"keys", index_.Keys()}, {"dead_letters", dead ? json(*dead) : json(nullptr)},
                       {"submissions", submissions_.load()}, {"duplicates", duplicates_.load()},
                       {"nats_connected", engine_.Connected()}, {"fingerprint", FingerprintJson(fp_)}});
}

std::string Api::MetricsText() {
  std::string out;
  auto line = [&out](const std::string& s) { out += s + "\n"; };
  line("# HELP airlock_queue_depth Work waiting or in flight per kind.");
  line("# TYPE airlock_queue_depth gauge");
  for (const auto& k : WorkKinds()) {
    if (auto d = engine_.QueueDepth(k)) line("airlock_queue_depth{kind=\"" + k + "\"} " + std::to_string(*d));
  }
  line("# HELP airlock_tasks Tasks by state.");
  line("# TYPE airlock_tasks gauge");
  for (const auto& [s, n] : index_.TasksByState()) line("airlock_tasks{state=\"" + s + "\"} " + std::to_string(n));
  line("# HELP airlock_analysis_duration_seconds Duration of finished analyses.");
  line("# TYPE airlock_analysis_duration_seconds histogram");
  for (const auto& [kind, d] : index_.AnalysisDurations()) {
    for (size_t i = 0; i < d.bucket_counts.size(); ++i) {
      line("airlock_analysis_duration_seconds_bucket{kind=\"" + kind + "\",le=\"" + fmt_double(kDurationBuckets[i]) +
           "\"} " + std::to_string(d.bucket_counts[i]));
    }
    line("airlock_analysis_duration_seconds_bucket{kind=\"" + kind + "\",le=\"+Inf\"} " + std::to_string(d.count));
    line("airlock_analysis_duration_seconds_sum{kind=\"" + kind + "\"} " + fmt_double(d.sum_s));
    line("airlock_analysis_duration_seconds_count{kind=\"" + kind + "\"} " + std::to_string(d.count));
  }
  json workers = WorkersJson();
  uint64_t alive = 0;
  line("# HELP airlock_worker_up A worker's heartbeat is recent (1) or stale (0).");
  line("# TYPE airlock_worker_up gauge");
  for (const auto& w : workers) {
    bool up = w.value("alive", false);
    alive += up;
    std::string id = w.value("id", "");
    std::string safe;
    for (char c : id) safe += (isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
    line("airlock_worker_up{worker=\"" + safe + "\"} " + (up ? "1" : "0"));
    line("airlock_worker_busy{worker=\"" + safe + "\"} " + std::to_string(w.value("busy", 0)));
  }
  line("# TYPE airlock_workers_alive gauge");
  line("airlock_workers_alive " + std::to_string(alive));
  line("# TYPE airlock_submissions_total counter");
  line("airlock_submissions_total " + std::to_string(submissions_.load()));
  line("# TYPE airlock_duplicate_submissions_total counter");
  line("airlock_duplicate_submissions_total " + std::to_string(duplicates_.load()));
  line("# TYPE airlock_rate_limited_total counter");
  line("airlock_rate_limited_total " + std::to_string(rate_limited_.load()));
  line("# TYPE airlock_dead_letters gauge");
  if (auto d = engine_.DeadLetters()) line("airlock_dead_letters " + std::to_string(*d));
  line("# TYPE airlock_nats_connected gauge");
  line(std::string("airlock_nats_connected ") + (engine_.Connected() ? "1" : "0"));
  return out;
}

// CAPEv2's REST API (web/apiv2): tasks/create/file answers {"error": false, "data": {"task_ids": [N]}}.
void Api::CapeCreate(const httplib::Request& req, httplib::Response& res) {
  auto caller = Authorize(req, res, Role::kSubmit);
  if (!caller || RateLimited(*caller, res)) return;
  if (!req.is_multipart_form_data() || !req.has_file("file")) {
    return Reply(res, 400, json{{"error", true}, {"error_value", "multipart form with a 'file' part expected"}});
  }
  const auto& f = req.get_file_value("file");
  std::map<std::string, std::string> fields;
  for (const auto& [k, v] : req.files) {
    if (k != "file") fields[k] = v.content;
  }
  if (!fields.count("kind")) fields["kind"] = "detonate";  // CAPE detonates
  auto opts = ParseSubmitOptions(fields);
  if (!opts) return Reply(res, 400, json{{"error", true}, {"error_value", opts.error().message()}});
  if (f.content.empty()) return Reply(res, 400, json{{"error", true}, {"error_value", "the file is empty"}});
  std::string name = f.filename.empty() ? "sample" : f.filename;
  auto s = Submit(f.content, name, name, *opts, caller->name);
  if (!s) return Reply(res, 503, json{{"error", true}, {"error_value", s.error().What()}});
  Reply(res, 200, json{{"error", false}, {"data", {{"task_ids", json::array({s->id})}}}, {"errors", json::array()}});
}

void Api::CapeView(const httplib::Request& req, httplib::Response& res) {
  if (!Authorize(req, res, Role::kRead)) return;
  auto id = req.matches.size() > 1 ? ParseTaskId(req.matches[1].str()) : std::nullopt;
  auto v = id ? index_.Get(*id) : std::nullopt;
  if (!v) return Reply(res, 404, json{{"error", true}, {"error_value", "Task not found"}});
  static const std::map<TaskState, const char*> kCape = {{TaskState::kQueued, "pending"}, {TaskState::kRunning, "running"},
                                                         {TaskState::kDone, "reported"}, {TaskState::kFailed, "failed_analysis"}};
  Reply(res, 200, json{{"error", false}, {"data", {{"id", *id}, {"status", kCape.at(v->State())}, {"target", Utf8Text(v->task.name)},
                                                   {"sample", {{"sha256", v->task.sha256}}}, {"category", "file"}}}});
}

void Api::CapeReport(const httplib::Request& req, httplib::Response& res) { GetReport(req, res, Artifact::kJson); }

void Api::Mount(httplib::Server& s) {
  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-src 'self'; img-src 'self' data:");
    res.set_content(WebUiHtml(), "text/html; charset=utf-8");
  });
  s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    bool ok = engine_.Connected();
    Reply(res, ok ? 200 : 503, json{{"ok", ok}});
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(MetricsText(), "text/plain; version=0.0.4");
  });
  s.Post("/api/v1/tasks", [this](const httplib::Request& q, httplib::Response& r) { PostTask(q, r); });
  s.Get("/api/v1/tasks", [this](const httplib::Request& q, httplib::Response& r) { GetTasks(q, r); });
  s.Get(R"(/api/v1/tasks/([^/]+))", [this](const httplib::Request& q, httplib::Response& r) { GetTask(q, r); });
  s.Delete(R"(/api/v1/tasks/([^/]+))", [this](const httplib::Request& q, httplib::Response& r) { DeleteTask(q, r); });
  s.Get(R"(/api/v1/tasks/([^/]+)/report)", [this](const httplib::Request& q, httplib::Response& r) { GetReport(q, r, Artifact::kJson); });
  s.Get(R"(/api/v1/tasks/([^/]+)/report\.html)", [this](const httplib::Request& q, httplib::Response& r) { GetReport(q, r, Artifact::kHtml); });
  s.Get(R"(/api/v1/tasks/([^/]+)/pcap)", [this](const httplib::Request& q, httplib::Response& r) { GetReport(q, r, Artifact::kPcap); });
  s.Get(R"(/api/v1/tasks/([^/]+)/events)", [this](const httplib::Request& q, httplib::Response& r) { GetReport(q, r, Artifact::kEvents); });
  s.Get(R"(/api/v1/tasks/([^/]+)/dropped/([^/]+))", [this](const httplib::Request& q, httplib::Response& r) { GetDropped(q, r); });
  s.Get(R"(/api/v1/tasks/([^/]+)/navigator)", [this](const httplib::Request& q, httplib::Response& r) { GetNavigator(q, r); });
  s.Post(R"(/api/v1/tasks/([^/]+)/verify)", [this](const httplib::Request& q, httplib::Response& r) { PostVerify(q, r); });
  s.Get(R"(/api/v1/tasks/([^/]+)/verify)", [this](const httplib::Request& q, httplib::Response& r) { GetVerify(q, r); });
  s.Get("/api/v1/status", [this](const httplib::Request& q, httplib::Response& r) { GetStatus(q, r); });
  for (const char* p : {"/tasks/create/file", "/tasks/create/file/", "/apiv2/tasks/create/file/"}) {
    s.Post(p, [this](const httplib::Request& q, httplib::Response& r) { CapeCreate(q, r); });
  }
  for (const char* p : {R"(/tasks/view/([^/]+)/?)", R"(/apiv2/tasks/view/([^/]+)/?)"}) {
    s.Get(p, [this](const httplib::Request& q, httplib::Response& r) { CapeView(q, r); });
  }
  for (const char* p : {R"(/tasks/report/([^/]+)/?)", R"(/apiv2/tasks/get/report/([^/]+)/?)"}) {
    s.Get(p, [this](const httplib::Request& q, httplib::Response& r) { CapeReport(q, r); });
  }
  // Errors httplib raises itself (413, 400 for malformed multipart, 404 routes) get a JSON body too.
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string msg = res.status == 413   ? "the upload is larger than the server's limit (--max-upload)"
                      : res.status == 400 ? "malformed request (a multipart body that does not parse?)"
                      : res.status == 404 ? "no such endpoint: " + req.path.substr(0, 100)
                                          : "HTTP " + std::to_string(res.status);
    Fail(res, res.status, msg);
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    Fail(res, 500, "internal error");
  });
}

}  // namespace airlock::service
