// The analysis service's task model (docs/SERVICE.md "Tasks"): what a submission asks for, the
// immutable task record, the per-key result record that carries the state, and the dedupe key.
//
// Contract:
//  - A task (TaskRecord) is one submission: id, sample SHA-256, name, options, who submitted it, and its
//    dedupe key. It never changes after it is written.
//  - The state lives in the result record of the task's key (ResultRecord), so every task with one key
//    (duplicates) shares one state and one result: queued -> running -> done | failed. `attempts`
//    counts deliveries to workers (a redelivery after a crash is a second attempt of the same analysis).
//    A failed key may be queued again by a later submission; a done key never changes again.
//  - The dedupe key is SHA-256 over ("airlock-task-v1", sample SHA-256, kind, timeout, policy hash,
//    rules hash, airlock version): the same sample under the same options, policy, rules and version is
//    analysed once.
//  - Parsing never throws and never trusts a field's type: records read back from the store and
//    options sent by clients are checked field by field (a wrong type is an error, not a default).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace airlock::service {

enum class TaskKind { kStatic, kDetonate };
enum class TaskState { kQueued, kRunning, kDone, kFailed };

const char* KindName(TaskKind k);
const char* StateName(TaskState s);
std::optional<TaskKind> ParseKind(std::string_view s);
std::optional<TaskState> ParseState(std::string_view s);

// What produced a verdict: the same on every worker that may take a key's task.
struct Fingerprint {
  std::string policy_hash;  // SHA-256 over the analysis and default profiles as loaded (TOML)
  std::string rules_hash;   // SHA-256 over the rule directory's files (paths and contents)
  std::string version;      // airlock's version
  std::string engines;      // the scanner libraries airlock was built against ("yara 4.2.3, libmagic 5.44, ...")
  bool operator==(const Fingerprint&) const = default;
};
nlohmann::json FingerprintJson(const Fingerprint& f);
Result<Fingerprint> ParseFingerprint(const nlohmann::json& j);

// The submission's options, validated (limits below).
struct SubmitOptions {
  TaskKind kind = TaskKind::kStatic;
  int timeout_s = 60;  // detonation time; 1..kMaxTimeoutS
};
inline constexpr int kMaxTimeoutS = 600;
// Options from form fields or a JSON object's members (strings or numbers): "kind"
// ("static"|"detonate", CAPE's "package" is ignored), "timeout" (seconds, or "30s"/"2m"). Unknown
// fields are refused with their name, so a typo is never silently a default.
Result<SubmitOptions> ParseSubmitOptions(const std::map<std::string, std::string>& fields);
// The same from a JSON object (each value a string, a number or a bool).
Result<SubmitOptions> ParseSubmitOptionsJson(const nlohmann::json& j);

std::string DedupeKey(const std::string& sha256, const SubmitOptions& o, const Fingerprint& f);
// A verification (docs/SERVICE.md "Reproducible verdicts") re-runs a done key's analysis on another
// worker; its state and result live in the results bucket under the key plus ".verify", which the
// task index does not count as a key.
std::string VerifyKey(const std::string& key);
bool IsVerifyKey(std::string_view key);

struct TaskRecord {
  uint64_t id = 0;
  std::string key;
  std::string sha256;
  std::string name;  // as the client gave it (untrusted, display only; at most 255 bytes kept)
  uint64_t size = 0;
  SubmitOptions options;
  std::string submitted_at;  // UTC
  std::string submitter;     // the API key's name
};
nlohmann::json TaskJson(const TaskRecord& t);
Result<TaskRecord> ParseTask(const nlohmann::json& j);

struct ResultRecord {
  TaskState state = TaskState::kQueued;
  uint64_t task = 0;         // the task whose submission queued this key (the analysis's own)
  std::string sha256;
  SubmitOptions options;
  uint32_t attempts = 0;
  std::string worker;        // the worker that holds or held it
  std::string queued_at, started_at, finished_at;
  uint64_t duration_ms = 0;  // of the finished analysis
  std::string verdict;       // clean | suspicious | malicious | error (done: "error" = the sample could not be judged)
  double score = 0;
  std::vector<std::string> techniques;
  std::string error;         // failed
  Fingerprint fingerprint;   // of the worker that produced it
};
nlohmann::json ResultJson(const ResultRecord& r);
Result<ResultRecord> ParseResult(const nlohmann::json& j);

// What a submission that meant to write the result record `ours` (text) makes of the record `found`
// in the store for its key:
//  - kOurs: found is ours, byte for byte: a write that answered with an error (a timeout while the
//    cluster elects a leader) yet landed. Its work still has to be queued.
//  - kReplace: found failed (or is unreadable), or, for `again` (a verification), is done.
//  - kShare: found is queued, running or done for another submission, which this one shares.
enum class FoundRecord { kOurs, kReplace, kShare };
FoundRecord JudgeFoundRecord(const std::string& found, const std::string& ours, bool again);

// The work message a worker receives: the key, the sample, the options and the fingerprint the
// verdict must be reproduced under.
struct WorkItem {
  std::string key;  // a dedupe key, or a verification's key (VerifyKey)
  uint64_t task = 0;
  std::string sha256;
  std::string name;  // the first submission's name (runner choice reads its extension)
  SubmitOptions options;
  Fingerprint fingerprint;
  std::string avoid_worker;  // a verification: the worker whose result it checks never takes it
  int hops = 0;              // times a worker to avoid passed it on (republished it)
};
inline constexpr int kMaxVerifyHops = 25;
nlohmann::json WorkJson(const WorkItem& w);
Result<WorkItem> ParseWork(const nlohmann::json& j);

// A task id in a URL path: decimal, 1..2^53 (what a JSON client can hold), no sign or leading zero.
std::optional<uint64_t> ParseTaskId(std::string_view s);

}  // namespace airlock::service
