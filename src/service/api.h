// `airlock serve`'s HTTP API and web UI (docs/SERVICE.md "API", docs/openapi.yaml), on cpp-httplib.
//
// Contract:
//  - Every response body is JSON ({"error": "..."} on failure, saying what to fix) except the UI, the
//    HTML report (served with a Content-Security-Policy that sandboxes it: a hostile sample's report
//    never runs script on this origin) and /metrics (Prometheus text).
//  - Authentication: an API key (api_keys.h) on every /api/ and CAPE route; /, /healthz and /metrics
//    are open (the UI asks for a key; metrics are counts only). 401 without a valid key, 403 when
//    the key's role is too low.
//  - Limits: a body larger than max_upload is 413 (judged from its Content-Length; cpp-httplib reads and
//    discards the rest, never stores it); a submission beyond the
//    key's rate is 429 with Retry-After; malformed multipart or JSON is 400 naming the problem.
//  - Submission: the sample goes to the object store (content-addressed), the task record to KV, and
//    the key's result record is created by compare-and-set: only the submission that creates it (or
//    requeues a failed key) publishes work, so a key is analysed once however many clients submit it.
//  - Reads come from the TaskIndex, which KV watchers keep current (and which this process updates
//    itself after its own writes, so a client reads its submission at once).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "service/api_keys.h"
#include "service/jetstream.h"
#include "service/rate_limit.h"
#include "service/task_index.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace airlock::service {

struct ApiConfig {
  size_t max_upload = size_t(64) << 20;
  double rate_per_s = 5;  // submissions per key
  double burst = 20;
  std::chrono::seconds worker_alive{10};  // a worker is alive when its heartbeat is this recent
};

class Api {
 public:
  Api(Engine& engine, KeyRing keys, Fingerprint fp, ApiConfig cfg);
  ~Api();
  // Watches the KV buckets, subscribes to dead letters; returns once the index holds the current state.
  Status Start();
  // Routes on `server` (made by the caller: plain or TLS).
  void Mount(httplib::Server& server);
  std::string MetricsText();

 private:
  struct Caller {
    std::string name;
    Role role;
  };
  std::optional<Caller> Authorize(const httplib::Request& req, httplib::Response& res, Role need);
  bool RateLimited(const Caller& c, httplib::Response& res);

  struct Submitted {
    uint64_t id = 0;
    std::string sha256;
    TaskState state = TaskState::kQueued;
    bool duplicate = false;
  };
  Result<Submitted> Submit(const std::string& bytes, const std::string& name, const std::string& work_name,
                           const SubmitOptions& o, const std::string& submitter);
  // Queues `w` under `key` unless the key is queued, running or done (then false: shared); `again`:
  // a done key is queued again too (a verification asked for once more).
  Result<bool> QueueKey(const std::string& key, const WorkItem& w, bool again = false);

  void PostTask(const httplib::Request& req, httplib::Response& res);
  void GetTasks(const httplib::Request& req, httplib::Response& res);
  void GetTask(const httplib::Request& req, httplib::Response& res);
  // A stored result of a done task: the JSON or HTML report, or a detonation's PCAP or events.
  enum class Artifact { kJson, kHtml, kPcap, kEvents };
  void GetReport(const httplib::Request& req, httplib::Response& res, Artifact what);
  // One file a detonated sample left (GET .../dropped/SHA256): one the task's report lists.
  void GetDropped(const httplib::Request& req, httplib::Response& res);
  // The task a /api/v1/tasks/ID/... request names, once the caller's role allows it (nullopt: `res`
  // already says why: 401/403, 400 or 404).
  std::optional<TaskView> RequestedTask(const httplib::Request& req, httplib::Response& res, Role need);
  void GetNavigator(const httplib::Request& req, httplib::Response& res);
  void PostVerify(const httplib::Request& req, httplib::Response& res);
  void GetVerify(const httplib::Request& req, httplib::Response& res);
  void DeleteTask(const httplib::Request& req, httplib::Response& res);
  void GetStatus(const httplib::Request& req, httplib::Response& res);
  void CapeCreate(const httplib::Request& req, httplib::Response& res);
  void CapeView(const httplib::Request& req, httplib::Response& res);
  void CapeReport(const httplib::Request& req, httplib::Response& res);
  void OnDead(const std::string& kind, uint64_t seq, const std::string& data);
  nlohmann::json WorkersJson();

  Engine& engine_;
  KeyRing keys_;
  Fingerprint fp_;
  ApiConfig cfg_;
  RateLimiter limiter_;
  TaskIndex index_;
  std::mutex workers_mu_;
  struct WorkerSeen {
    nlohmann::json beat;
    std::chrono::steady_clock::time_point at;
    uint64_t revision = 0;  // a watch that starts again delivers this beat again: not a new one
  };
  std::map<std::string, WorkerSeen> workers_;
  std::atomic<uint64_t> submissions_{0}, duplicates_{0}, rate_limited_{0}, dead_{0};
};

// The embedded web UI (one HTML page with its script and style; no build step).
const std::string& WebUiHtml();

}  // namespace airlock::service
