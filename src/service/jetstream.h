// The analysis service's engine on NATS JetStream (docs/SERVICE.md "Engine"): one connection (nats.c)
// and the few operations `serve` and `worker` need. Nothing here knows about HTTP or analyses.
//
// What lives where (EnsureSchema creates it, idempotently, with the configured replicas):
//  - Work: stream AIRLOCK_WORK (work-queue retention, subjects airlock.work.<kind>, 2-minute duplicate
//    window), one durable pull consumer per kind ("static", "detonate": explicit ack, AckWait,
//    MaxDeliver). A worker that runs long sends in-progress acks; a worker that dies stops sending them
//    and the message is redelivered after AckWait, at most MaxDeliver times; the server then announces
//    it on $JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.AIRLOCK_WORK.<kind> and `serve` moves it to the
//    dead-letter stream AIRLOCK_DEAD (subject airlock.dead.<kind>).
//  - State: KV buckets (JetStream's key-value layout, readable with `nats kv`): airlock_tasks (task id
//    -> task record), airlock_results (dedupe key -> result record, the state), airlock_meta (the task
//    id counter), airlock_workers (worker id -> heartbeat, with a TTL: liveness).
//  - Bytes: object buckets in the NATS Object Store layout (stream OBJ_<bucket>; chunks of 128 KiB on
//    $O.<bucket>.C.<nuid>, the JSON description on $O.<bucket>.M.<base64url(name)> with a rollup), so
//    other NATS clients (`nats object get`) read them: airlock_samples (name = SHA-256 of the sample)
//    and airlock_reports (name = dedupe key + ".json" / ".html").
//
// Threading: nats.c connections are thread-safe; one Engine is shared by the process's threads.
// Conflicts of compare-and-set writes are values (nullopt), not errors; an Error is the engine
// failing (connection lost past its reconnect budget, a stream missing, a timeout).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"

struct __natsConnection;
struct __jsCtx;
struct __natsSubscription;
struct __natsMsg;
struct __kvStore;
struct __kvWatcher;

namespace airlock::service {

inline constexpr char kWorkStream[] = "AIRLOCK_WORK";
inline constexpr char kDeadStream[] = "AIRLOCK_DEAD";
inline constexpr char kTasksBucket[] = "airlock_tasks";
inline constexpr char kResultsBucket[] = "airlock_results";
inline constexpr char kMetaBucket[] = "airlock_meta";
inline constexpr char kWorkersBucket[] = "airlock_workers";
inline constexpr char kSamplesBucket[] = "airlock_samples";
inline constexpr char kReportsBucket[] = "airlock_reports";
inline constexpr size_t kChunkSize = 128 * 1024;

struct EngineConfig {
  std::string servers;        // "nats://h1:4222,nats://h2:4222"
  std::string name = "airlock";
  int replicas = 1;           // R3 in a 3-node cluster
  std::chrono::milliseconds ack_wait{120000};
  int max_deliver = 3;
  std::chrono::seconds worker_ttl{30};  // a worker whose heartbeat is older is gone
};

struct KvValue {
  std::string value;
  uint64_t revision = 0;
};

// One delivered work message; Ack/Nak/InProgress go to the server. Destroys the message.
class WorkMessage {
 public:
  explicit WorkMessage(__natsMsg* m) : msg_(m) {}
  ~WorkMessage();
  WorkMessage(const WorkMessage&) = delete;
  WorkMessage& operator=(const WorkMessage&) = delete;
  std::string Data() const;
  uint64_t Deliveries() const;  // 1 on the first delivery
  Status Ack();                 // synchronous: the server confirmed it
  void InProgress();            // resets the server's AckWait clock (best effort)
  void Nak(std::chrono::milliseconds delay);

 private:
  __natsMsg* msg_;
};

// Whether a KV watch is starved: the bucket's stream holds a newer revision than the watch delivered,
// on two probes in a row (made while the watch was idle) with nothing delivered between them. A watch
// is starved when its consumer was lost with a server and the client did not recreate it (seen in the
// farm test: `serve`'s worker list stopped while the workers' heartbeats were stored).
class WatchProbe {
 public:
  explicit WatchProbe(uint64_t delivered) : delivered_(delivered) {}
  void Delivered(uint64_t revision) {
    delivered_ = std::max(delivered_, revision);
    behind_ = 0;
  }
  // `last`: the bucket's last revision now. True when the watch is starved.
  bool Starved(uint64_t last) {
    if (last <= delivered_) {
      behind_ = 0;
      return false;
    }
    return ++behind_ >= 2;
  }
  // A new watch was started after `last` was read: it delivers every current entry up to it.
  void Restarted(uint64_t last) {
    delivered_ = std::max(delivered_, last);
    behind_ = 0;
  }
  uint64_t delivered() const { return delivered_; }

 private:
  uint64_t delivered_;
  int behind_ = 0;
};

class Engine {
 public:
  ~Engine();
  static Result<std::unique_ptr<Engine>> Connect(const EngineConfig& cfg);
  Status EnsureSchema();
  // EnsureSchema, tried again every 200 ms for at most `budget` while it fails (a cluster starting or
  // electing its JetStream leader answers with timeouts for a while). `say` hears the first failure
  // and then one line every 5 s; the last failure is returned when the budget is spent.
  Status AwaitSchema(std::chrono::milliseconds budget, const std::function<void(const std::string&)>& say);
  const EngineConfig& config() const { return cfg_; }
  bool Connected() const;

  // KV. Get: nullopt when absent (or deleted). Create: nullopt when the key exists. Update: nullopt
  // when the key's revision is no longer `last`.
  Result<std::optional<KvValue>> KvGet(const char* bucket, const std::string& key);
  Result<uint64_t> KvPut(const char* bucket, const std::string& key, const std::string& value);
  Result<std::optional<uint64_t>> KvCreate(const char* bucket, const std::string& key, const std::string& value);
  Result<std::optional<uint64_t>> KvUpdate(const char* bucket, const std::string& key, const std::string& value,
                                           uint64_t last);
  Status KvDelete(const char* bucket, const std::string& key);
  // Calls `fn(key, value or nullopt when deleted, revision)` for every current entry, then for every
  // change, on a thread of its own until the Engine is destroyed. `ready` is called once the current
  // entries were delivered. A watch that stops receiving (its consumer was lost with a server and the
  // client did not recreate it) is noticed within seconds, when the bucket holds a newer revision than
  // it delivered, and replaced: `fn` then hears the current entries again, so it must keep the newest
  // revision per key and ignore older or equal ones (the task index and the worker list do).
  using WatchFn = std::function<void(const std::string&, const std::optional<std::string>&, uint64_t)>;
  Status Watch(const char* bucket, WatchFn fn, std::function<void()> ready);

  // The next task id (a compare-and-set counter shared by every `serve`).
  Result<uint64_t> NextTaskId();

  // Objects (layout above). PutObject skips an object already stored with the same SHA-256 digest.
  Status PutObject(const char* bucket, const std::string& name, const std::string& bytes);
  // nullopt when absent; an error when it is larger than max_bytes or its chunks do not match its
  // size or digest.
  Result<std::optional<std::string>> GetObject(const char* bucket, const std::string& name, size_t max_bytes);
  Result<bool> HasObject(const char* bucket, const std::string& name);

  // Work. Sent again (up to 3 tries) while the server does not acknowledge it; `msg_id` makes the
  // copies one message (the stream's 2-minute duplicate window).
  Status PublishWork(const std::string& kind, const std::string& data, const std::string& msg_id);
  // Up to one message of `kind`, waiting at most `wait`; nullptr when none came. A zero `wait` takes
  // only a message already queued (the server answers at once), and skips the kind while another
  // thread is fetching it. Thread-safe: the threads fetching one kind take turns on its pull
  // subscription (nats.c refuses a concurrent fetch on one subscription: "concurrent fetch request
  // not allowed").
  Result<std::unique_ptr<WorkMessage>> FetchWork(const std::string& kind, std::chrono::milliseconds wait);
  // Messages waiting or in flight per kind (the consumer's pending + ack-pending).
  Result<uint64_t> QueueDepth(const std::string& kind);
  // Runs `fn(kind, stream sequence, data)` for each message that exhausted MaxDeliver (advisories),
  // then moves it to AIRLOCK_DEAD and deletes it from the work stream.
  Status OnDeadLetter(std::function<void(const std::string&, uint64_t, const std::string&)> fn);
  Result<uint64_t> DeadLetters();

 private:
  explicit Engine(EngineConfig cfg) : cfg_(std::move(cfg)) {}
  Result<__kvStore*> Kv(const char* bucket);
  Status EnsureObjectStream(const char* bucket);
  Status EnsureKv(const char* bucket, int history, std::chrono::seconds ttl);
  Status EnsureWork();
  void HandleAdvisory(__natsMsg* m);
  Result<uint64_t> StreamLastSequence(const std::string& stream, std::chrono::milliseconds wait);
  void WatchLoop(const std::string& bucket, __kvStore* kv, __kvWatcher* w, uint64_t delivered, const WatchFn& fn,
                 const std::function<void()>& ready);

  EngineConfig cfg_;
  __natsConnection* nc_ = nullptr;
  __jsCtx* js_ = nullptr;
  std::vector<std::pair<std::string, __kvStore*>> kvs_;
  struct Pull {
    std::string kind;
    __natsSubscription* sub = nullptr;
    std::unique_ptr<std::timed_mutex> fetching = std::make_unique<std::timed_mutex>();  // one fetch at a time
  };
  std::vector<Pull> pulls_;
  std::mutex pulls_mu_;  // guards pulls_ itself
  __natsSubscription* advisory_ = nullptr;
  std::function<void(const std::string&, uint64_t, const std::string&)> on_dead_;
  std::vector<std::jthread> watchers_;
  std::atomic<bool> stopping_{false};
};

// The kinds of work, in the order workers poll them.
inline const std::vector<std::string>& WorkKinds() {
  static const std::vector<std::string> k{"static", "detonate"};
  return k;
}

}  // namespace airlock::service
