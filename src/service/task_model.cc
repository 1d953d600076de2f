#include "service/task_model.h"

#include <charconv>

#include "service/digest.h"

namespace airlock::service {
namespace {

using nlohmann::json;

// Field readers: a missing or mistyped field is an error naming it.
Result<std::string> Str(const json& j, const char* k, bool optional = false) {
  auto it = j.find(k);
  if (it == j.end() && optional) return std::string();
  if (it == j.end() || !it->is_string()) return MakeError(std::string("field '") + k + "' must be a string");
  return it->get<std::string>();
}
Result<uint64_t> Uint(const json& j, const char* k, bool optional = false) {
  auto it = j.find(k);
  if (it == j.end() && optional) return uint64_t{0};
  if (it == j.end() || !it->is_number_unsigned()) return MakeError(std::string("field '") + k + "' must be a count");
  return it->get<uint64_t>();
}

std::optional<int> ParseSeconds(std::string_view s) {
  int mult = 1;
  if (!s.empty() && (s.back() == 's' || s.back() == 'm')) {
    mult = s.back() == 'm' ? 60 : 1;
    s.remove_suffix(1);
  }
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v < 0 || v > 100000) return std::nullopt;
  return v * mult;
}

json OptionsJson(const SubmitOptions& o) { return {{"kind", KindName(o.kind)}, {"timeout", o.timeout_s}}; }
Result<SubmitOptions> ParseStoredOptions(const json& j) {
  auto it = j.find("options");
  if (it == j.end() || !it->is_object()) return MakeError("field 'options' must be an object");
  return ParseSubmitOptionsJson(*it);
}

}  // namespace

const char* KindName(TaskKind k) { return k == TaskKind::kStatic ? "static" : "detonate"; }
const char* StateName(TaskState s) {
  switch (s) {
    case TaskState::kQueued: return "queued";
    case TaskState::kRunning: return "running";
    case TaskState::kDone: return "done";
    case TaskState::kFailed: return "failed";
  }
  return "queued";
}
std::optional<TaskKind> ParseKind(std::string_view s) {
  if (s == "static") return TaskKind::kStatic;
  if (s == "detonate") return TaskKind::kDetonate;
  return std::nullopt;
}
std::optional<TaskState> ParseState(std::string_view s) {
  for (TaskState t : {TaskState::kQueued, TaskState::kRunning, TaskState::kDone, TaskState::kFailed}) {
    if (s == StateName(t)) return t;
  }
  return std::nullopt;
}

json FingerprintJson(const Fingerprint& f) {
  return {{"policy_hash", f.policy_hash}, {"rules_hash", f.rules_hash}, {"airlock_version", f.version}, {"engines", f.engines}};
}
Result<Fingerprint> ParseFingerprint(const json& j) {
  if (!j.is_object()) return MakeError("fingerprint must be an object");
  Fingerprint f;
  auto p = Str(j, "policy_hash");
  auto r = Str(j, "rules_hash");
  auto v = Str(j, "airlock_version");
  if (!p) return std::unexpected(p.error());
  if (!r) return std::unexpected(r.error());
  if (!v) return std::unexpected(v.error());
  f.policy_hash = *p;
  f.rules_hash = *r;
  f.version = *v;
  // "engines" is newer: a record without it reads as "" (unequal to every current fingerprint).
  if (auto e = j.find("engines"); e != j.end()) {
    if (!e->is_string()) return MakeError("fingerprint: 'engines' must be a string");
    f.engines = e->get<std::string>();
  }
  return f;
}

Result<SubmitOptions> ParseSubmitOptions(const std::map<std::string, std::string>& fields) {
  SubmitOptions o;
  for (const auto& [k, v] : fields) {
    if (k == "kind") {
      auto kind = ParseKind(v);
      if (!kind) return MakeError("option 'kind' must be \"static\" or \"detonate\", not '" + v.substr(0, 40) + "'");
      o.kind = *kind;
    } else if (k == "timeout") {
      auto t = ParseSeconds(v);
      if (!t || *t < 1 || *t > kMaxTimeoutS) {
        return MakeError("option 'timeout' must be 1.." + std::to_string(kMaxTimeoutS) + " seconds (e.g. 60 or \"2m\")");
      }
      o.timeout_s = *t;
    } else if (k == "package" || k == "options" || k == "machine" || k == "platform" || k == "priority" ||
               k == "tags" || k == "custom" || k == "memory" || k == "enforce_timeout" || k == "clock") {
      // CAPE's tasks/create/file fields: accepted so CAPE clients work unchanged; airlock chooses its runner.
    } else {
      return MakeError("unknown option '" + k.substr(0, 40) + "' (known: kind, timeout)");
    }
  }
  return o;
}

Result<SubmitOptions> ParseSubmitOptionsJson(const json& j) {
  if (!j.is_object()) return MakeError("options must be a JSON object");
  std::map<std::string, std::string> fields;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) {
      fields[k] = v.get<std::string>();
    } else if (v.is_number_integer()) {
      fields[k] = std::to_string(v.get<int64_t>());
    } else if (v.is_boolean()) {
      fields[k] = v.get<bool>() ? "1" : "0";
    } else {
      return MakeError("option '" + k.substr(0, 40) + "' must be a string or a whole number");
    }
  }
  return ParseSubmitOptions(fields);
}

std::string DedupeKey(const std::string& sha256, const SubmitOptions& o, const Fingerprint& f) {
  std::string in = "airlock-task-v2";
  for (const std::string& part : {sha256, std::string(KindName(o.kind)), std::to_string(o.timeout_s), f.policy_hash,
                                  f.rules_hash, f.version, f.engines}) {
    in.push_back('\0');
    in += part;
  }
  return Sha256Hex(in);
}

json TaskJson(const TaskRecord& t) {
  return {{"id", t.id}, {"key", t.key}, {"sha256", t.sha256}, {"name", t.name}, {"size", t.size},
          {"options", OptionsJson(t.options)}, {"submitted_at", t.submitted_at}, {"submitter", t.submitter}};
}

Result<TaskRecord> ParseTask(const json& j) {
  if (!j.is_object()) return MakeError("task record is not an object");
  TaskRecord t;
  auto id = Uint(j, "id");
  auto key = Str(j, "key");
  auto sha = Str(j, "sha256");
  auto name = Str(j, "name", true);
  auto size = Uint(j, "size", true);
  auto opts = ParseStoredOptions(j);
  auto at = Str(j, "submitted_at", true);
  auto who = Str(j, "submitter", true);
  for (const Error* e : {id ? nullptr : &id.error(), key ? nullptr : &key.error(), sha ? nullptr : &sha.error(),
                         name ? nullptr : &name.error(), size ? nullptr : &size.error(), opts ? nullptr : &opts.error(),
                         at ? nullptr : &at.error(), who ? nullptr : &who.error()}) {
    if (e != nullptr) return MakeError("task record: " + e->message());
  }
  t.id = *id, t.key = *key, t.sha256 = *sha, t.name = *name, t.size = *size, t.options = *opts;
  t.submitted_at = *at, t.submitter = *who;
  return t;
}

json ResultJson(const ResultRecord& r) {
  json j = {{"state", StateName(r.state)}, {"task", r.task}, {"sha256", r.sha256}, {"options", OptionsJson(r.options)},
            {"attempts", r.attempts}, {"worker", r.worker}, {"queued_at", r.queued_at}, {"started_at", r.started_at},
            {"finished_at", r.finished_at}, {"duration_ms", r.duration_ms}, {"verdict", r.verdict}, {"score", r.score},
            {"techniques", r.techniques}, {"error", r.error}};
  if (!r.fingerprint.version.empty()) j["fingerprint"] = FingerprintJson(r.fingerprint);
  return j;
}

Result<ResultRecord> ParseResult(const json& j) {
  if (!j.is_object()) return MakeError("result record is not an object");
  ResultRecord r;
  auto state = Str(j, "state");
  if (!state || !ParseState(*state)) return MakeError("result record: field 'state' is not a task state");
  r.state = *ParseState(*state);
  auto task = Uint(j, "task");
  auto sha = Str(j, "sha256");
  auto opts = ParseStoredOptions(j);
  auto attempts = Uint(j, "attempts", true);
  if (!task || !sha || !opts || !attempts) return MakeError("result record: task, sha256, options or attempts malformed");
  r.task = *task, r.sha256 = *sha, r.options = *opts, r.attempts = uint32_t(std::min<uint64_t>(*attempts, 1u << 30));
  for (auto [field, k] : {std::pair{&r.worker, "worker"}, {&r.queued_at, "queued_at"}, {&r.started_at, "started_at"},
                          {&r.finished_at, "finished_at"}, {&r.verdict, "verdict"}, {&r.error, "error"}}) {
    auto v = Str(j, k, true);
    if (!v) return MakeError("result record: " + v.error().message());
    *field = *v;
  }
  auto dur = Uint(j, "duration_ms", true);
  if (!dur) return MakeError("result record: " + dur.error().message());
  r.duration_ms = *dur;
  if (auto it = j.find("score"); it != j.end() && it->is_number()) r.score = it->get<double>();
  if (auto it = j.find("techniques"); it != j.end() && it->is_array()) {
    for (const auto& t : *it) {
      if (t.is_string()) r.techniques.push_back(t.get<std::string>());
    }
  }
  if (auto it = j.find("fingerprint"); it != j.end()) {
    auto f = ParseFingerprint(*it);
    if (!f) return MakeError("result record: " + f.error().message());
    r.fingerprint = *f;
  }
  return r;
}

FoundRecord JudgeFoundRecord(const std::string& found, const std::string& ours, bool again) {
  if (found == ours) return FoundRecord::kOurs;
  auto old = ParseResult(json::parse(found, nullptr, false));
  if (!old || old->state == TaskState::kFailed || (again && old->state == TaskState::kDone)) return FoundRecord::kReplace;
  return FoundRecord::kShare;
}

json WorkJson(const WorkItem& w) {
  json j = {{"key", w.key}, {"task", w.task}, {"sha256", w.sha256}, {"name", w.name}, {"options", OptionsJson(w.options)},
            {"fingerprint", FingerprintJson(w.fingerprint)}};
  if (!w.avoid_worker.empty()) {
    j["avoid_worker"] = w.avoid_worker;
    j["hops"] = static_cast<uint64_t>(w.hops);
  }
  return j;
}

std::string VerifyKey(const std::string& key) { return key + ".verify"; }

bool IsVerifyKey(std::string_view key) {
  constexpr std::string_view kSuffix = ".verify";
  return key.size() > kSuffix.size() && key.ends_with(kSuffix) && IsSha256Hex(key.substr(0, key.size() - kSuffix.size()));
}

Result<WorkItem> ParseWork(const json& j) {
  if (!j.is_object()) return MakeError("work item is not an object");
  WorkItem w;
  auto key = Str(j, "key");
  auto task = Uint(j, "task");
  auto sha = Str(j, "sha256");
  auto opts = ParseStoredOptions(j);
  if (!key || !task || !sha || !opts) return MakeError("work item: key, task, sha256 or options malformed");
  if (!(IsSha256Hex(*key) || IsVerifyKey(*key)) || !IsSha256Hex(*sha)) return MakeError("work item: key and sha256 must be SHA-256 hex");
  auto fp = j.find("fingerprint");
  if (fp == j.end()) return MakeError("work item: no fingerprint");
  auto f = ParseFingerprint(*fp);
  if (!f) return MakeError("work item: " + f.error().message());
  auto name = Str(j, "name", true);
  if (!name) return MakeError("work item: " + name.error().message());
  auto avoid = Str(j, "avoid_worker", true);
  auto hops = Uint(j, "hops", true);
  if (!avoid || !hops || *hops > uint64_t(kMaxVerifyHops)) return MakeError("work item: avoid_worker or hops malformed");
  w.key = *key, w.task = *task, w.sha256 = *sha, w.name = *name, w.options = *opts, w.fingerprint = *f;
  w.avoid_worker = *avoid, w.hops = int(*hops);
  return w;
}

std::optional<uint64_t> ParseTaskId(std::string_view s) {
  if (s.empty() || s.size() > 16 || s[0] == '0') return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > (uint64_t{1} << 53)) return std::nullopt;
  return v;
}

}  // namespace airlock::service
