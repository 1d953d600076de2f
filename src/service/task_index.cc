#include "service/task_index.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "service/digest.h"

namespace airlock::service {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool Matches(const TaskView& v, const SearchQuery& q) {
  if (!q.sha256.empty() && v.task.sha256 != q.sha256) return false;
  if (q.state && v.State() != *q.state) return false;
  if (!q.verdict.empty() && (!v.result || v.result->verdict != q.verdict)) return false;
  if (!q.technique.empty()) {
    if (!v.result) return false;
    const auto& t = v.result->techniques;
    // T1059 matches its sub-techniques T1059.004 too.
    bool hit = std::any_of(t.begin(), t.end(), [&](const std::string& x) {
      return x == q.technique || (x.starts_with(q.technique) && x.size() > q.technique.size() && x[q.technique.size()] == '.');
    });
    if (!hit) return false;
  }
  if (!q.name.empty() && Lower(v.task.name).find(Lower(q.name)) == std::string::npos) return false;
  return true;
}

}  // namespace

nlohmann::json TaskViewJson(const TaskView& v) {
  nlohmann::json j = TaskJson(v.task);
  j["state"] = StateName(v.State());
  if (v.result) {
    const ResultRecord& r = *v.result;
    j["analysis_task"] = r.task;  // != id for a duplicate: the submission whose analysis this shares
    j["attempts"] = r.attempts;
    j["worker"] = r.worker;
    j["started_at"] = r.started_at;
    j["finished_at"] = r.finished_at;
    j["duration_ms"] = r.duration_ms;
    if (r.state == TaskState::kDone) {
      j["verdict"] = r.verdict;
      j["score"] = r.score;
      j["techniques"] = r.techniques;
    }
    if (!r.error.empty()) j["error"] = r.error;
    if (!r.fingerprint.version.empty()) j["fingerprint"] = FingerprintJson(r.fingerprint);
  }
  return j;
}

nlohmann::json VerificationJson(const ResultRecord& original, const ResultRecord& again) {
  auto run = [](const ResultRecord& r) {
    nlohmann::json j = {{"worker", r.worker}, {"attempts", r.attempts}, {"started_at", r.started_at}, {"finished_at", r.finished_at}};
    if (r.state == TaskState::kDone) {
      j["verdict"] = r.verdict;
      j["score"] = r.score;
      j["techniques"] = r.techniques;
      j["fingerprint"] = FingerprintJson(r.fingerprint);
    }
    if (!r.error.empty()) j["error"] = r.error;
    return j;
  };
  nlohmann::json out = {{"state", StateName(again.state)}, {"original", run(original)}, {"rerun", run(again)}};
  if (again.state != TaskState::kDone) return out;
  std::vector<std::string> diff;
  out["other_worker"] = original.worker != again.worker;
  if (!(original.fingerprint == again.fingerprint)) diff.push_back("fingerprints differ (version, policy, rules or engines)");
  if (original.verdict != again.verdict) diff.push_back("verdict: " + original.verdict + " then " + again.verdict);
  if (original.score != again.score) diff.push_back(fmt::format("score: {} then {}", original.score, again.score));
  std::set<std::string> a(original.techniques.begin(), original.techniques.end()), b(again.techniques.begin(), again.techniques.end());
  for (const auto& t : a) {
    if (!b.count(t)) diff.push_back("technique " + t + " only in the original");
  }
  for (const auto& t : b) {
    if (!a.count(t)) diff.push_back("technique " + t + " only in the re-run");
  }
  out["agree"] = diff.empty();
  out["differences"] = diff;
  return out;
}

Result<SearchQuery> ParseSearchQuery(const std::multimap<std::string, std::string>& params) {
  SearchQuery q;
  for (const auto& [k, v] : params) {
    if (k == "sha256") {
      if (!IsSha256Hex(v)) return MakeError("sha256 must be 64 lower-case hex digits");
      q.sha256 = v;
    } else if (k == "verdict") {
      if (v != "clean" && v != "suspicious" && v != "malicious") return MakeError("verdict must be clean, suspicious or malicious");
      q.verdict = v;
    } else if (k == "technique") {
      if (v.size() < 5 || v.size() > 12 || v[0] != 'T') return MakeError("technique must be an ATT&CK ID such as T1059 or T1059.004");
      q.technique = v;
    } else if (k == "name") {
      if (v.size() > 255) return MakeError("name is longer than 255 bytes");
      q.name = v;
    } else if (k == "state") {
      q.state = ParseState(v);
      if (!q.state) return MakeError("state must be queued, running, done or failed");
    } else if (k == "limit") {
      auto id = ParseTaskId(v);
      if (!id || *id > 1000) return MakeError("limit must be 1..1000");
      q.limit = size_t(*id);
    } else {
      return MakeError("unknown search parameter '" + k.substr(0, 40) + "' (known: sha256, verdict, technique, name, state, limit)");
    }
  }
  return q;
}

void TaskIndex::PutTask(const TaskRecord& t) {
  std::lock_guard lock(mu_);
  tasks_[t.id] = t;
}
void TaskIndex::DeleteTask(uint64_t id) {
  std::lock_guard lock(mu_);
  tasks_.erase(id);
}
void TaskIndex::PutResult(const std::string& key, const ResultRecord& r, uint64_t revision) {
  if (IsVerifyKey(key)) return;  // a verification, read from the store when asked for
  std::lock_guard lock(mu_);
  auto [held, fresh] = revisions_.emplace(key, revision);
  if (!fresh && held->second > revision) return;
  held->second = revision;
  auto it = results_.find(key);
  bool newly_done = r.state == TaskState::kDone && (it == results_.end() || it->second.state != TaskState::kDone);
  results_[key] = r;
  if (!newly_done) return;
  Durations& d = durations_[KindName(r.options.kind)];
  if (d.bucket_counts.empty()) d.bucket_counts.assign(std::size(kDurationBuckets), 0);
  double s = double(r.duration_ms) / 1000.0;
  for (size_t i = 0; i < std::size(kDurationBuckets); ++i) {
    if (s <= kDurationBuckets[i]) ++d.bucket_counts[i];
  }
  ++d.count;
  d.sum_s += s;
}
void TaskIndex::DeleteResult(const std::string& key) {
  std::lock_guard lock(mu_);
  results_.erase(key);
  revisions_.erase(key);
}

std::optional<TaskView> TaskIndex::Get(uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return std::nullopt;
  TaskView v{it->second, std::nullopt};
  if (auto r = results_.find(it->second.key); r != results_.end()) v.result = r->second;
  return v;
}

std::vector<TaskView> TaskIndex::Search(const SearchQuery& q) const {
  std::lock_guard lock(mu_);
  std::vector<TaskView> out;
  for (auto it = tasks_.rbegin(); it != tasks_.rend() && out.size() < q.limit; ++it) {
    TaskView v{it->second, std::nullopt};
    if (auto r = results_.find(it->second.key); r != results_.end()) v.result = r->second;
    if (Matches(v, q)) out.push_back(std::move(v));
  }
  return out;
}

std::map<std::string, uint64_t> TaskIndex::TasksByState() const {
  std::lock_guard lock(mu_);
  std::map<std::string, uint64_t> out;
  for (TaskState s : {TaskState::kQueued, TaskState::kRunning, TaskState::kDone, TaskState::kFailed}) out[StateName(s)] = 0;
  for (const auto& [id, t] : tasks_) {
    auto r = results_.find(t.key);
    ++out[StateName(r == results_.end() ? TaskState::kQueued : r->second.state)];
  }
  return out;
}

size_t TaskIndex::Keys() const {
  std::lock_guard lock(mu_);
  return results_.size();
}

std::map<std::string, TaskIndex::Durations> TaskIndex::AnalysisDurations() const {
  std::lock_guard lock(mu_);
  return durations_;
}

}  // namespace airlock::service
