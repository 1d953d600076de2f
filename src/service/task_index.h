// The serving process's view of every task and result (docs/SERVICE.md "Search"): filled from the
// JetStream KV buckets by watchers (every `serve` replica holds its own), read by the API's status,
// search and /metrics. Pure and thread-safe (one mutex); no I/O.
//
// Contract: a task shows the state of its key's result (queued when the result is not known yet);
// search returns newest first, at most `limit`; name matching is a case-insensitive substring match.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "service/task_model.h"

namespace airlock::service {

struct TaskView {
  TaskRecord task;
  std::optional<ResultRecord> result;
  TaskState State() const { return result ? result->state : TaskState::kQueued; }
};
// The API's JSON of a task: the record, its state, and the result's fields when there is one.
nlohmann::json TaskViewJson(const TaskView& v);
// A verification next to the result it checks: each run's worker, verdict, score, techniques and
// fingerprint; once the re-run is done, whether they agree and each difference in words.
nlohmann::json VerificationJson(const ResultRecord& original, const ResultRecord& again);

struct SearchQuery {
  std::string sha256, verdict, technique, name;
  std::optional<TaskState> state;
  size_t limit = 100;
};
// From URL query parameters; unknown parameters and malformed values are errors.
Result<SearchQuery> ParseSearchQuery(const std::multimap<std::string, std::string>& params);

// Upper bounds (seconds) of the analysis-duration histogram.
inline constexpr double kDurationBuckets[] = {0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600};

class TaskIndex {
 public:
  void PutTask(const TaskRecord& t);
  void DeleteTask(uint64_t id);
  // `revision`: the record's revision in the store. A put older than the one held is ignored: the
  // watcher and a submission that read the record a moment ago both put it, in either order.
  void PutResult(const std::string& key, const ResultRecord& r, uint64_t revision);
  void DeleteResult(const std::string& key);

  std::optional<TaskView> Get(uint64_t id) const;
  std::vector<TaskView> Search(const SearchQuery& q) const;
  std::map<std::string, uint64_t> TasksByState() const;  // every state present, zeros included
  size_t Keys() const;

  struct Durations {
    std::vector<uint64_t> bucket_counts;  // cumulative, one per kDurationBuckets entry
    uint64_t count = 0;
    double sum_s = 0;
  };
  // Per kind ("static", "detonate"): the finished analyses seen by this process.
  std::map<std::string, Durations> AnalysisDurations() const;

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, TaskRecord> tasks_;
  std::map<std::string, ResultRecord> results_;
  std::map<std::string, uint64_t> revisions_;  // per key in results_
  std::map<std::string, Durations> durations_;
};

}  // namespace airlock::service
