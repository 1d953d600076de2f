// `airlock worker` (docs/SERVICE.md "Workers"): pulls work from JetStream and runs each analysis
// exactly as the CLI does, each in its own sandboxes: static work is `airlock-scan --json` inside
// `airlock run` (runapi/scan_request.h, the same request as analyze's static triage), detonation is
// `airlock analyze FILE --out DIR --json`.
//
// Contract, per message:
//  1. A work item that does not parse is acknowledged and dropped (logged): it can never succeed.
//  2. Work whose fingerprint (policy, rules, version) differs from this worker's is refused (nak with
//     a delay) so a worker that can reproduce it takes it; past MaxDeliver it becomes a dead letter.
//  3. A key already done is acknowledged without analysis (a redelivery after a lost ack).
//  4. The key's result goes to "running" by compare-and-set (attempts + 1, this worker), the sample is
//     read from the object store (size and digest checked), the analysis runs with an in-progress ack
//     every AckWait/3, the reports go to the object store, and the result goes to "done" by
//     compare-and-set from the revision this worker wrote: a worker that lost the key to a
//     redelivery never overwrites the other's result. Then the message is acknowledged.
//  5. An analysis that fails is retried by redelivery (nak) until MaxDeliver, then "failed".
// Capacity N runs N analyses at once (threads); the heartbeat in airlock_workers (TTL) says who is
// alive, its kinds, capacity, busy slots and analyses done.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "service/jetstream.h"
#include "service/task_model.h"

namespace airlock::service {

struct WorkerConfig {
  std::string id;                    // unique in the farm (default: host-pid)
  std::vector<std::string> kinds = WorkKinds();
  int capacity = 1;
  std::string work_dir;              // private scratch directory (created 0700)
  std::chrono::milliseconds heartbeat{2000};
};

class Worker {
 public:
  Worker(Engine& engine, WorkerConfig cfg, Fingerprint fp) : engine_(engine), cfg_(std::move(cfg)), fp_(std::move(fp)) {}
  // Runs until `stop` becomes true (slots finish their analysis first).
  void Run(const std::atomic<bool>& stop);
  // One message (exposed for tests).
  void Handle(WorkMessage& msg, int slot);
  // A slot's next message (exposed for tests): work already queued of any kind first, starting at the
  // slot's turn `next` (advanced past the kind served); only when every queue is empty, a wait on one
  // kind (nullptr when nothing came).
  Result<std::unique_ptr<WorkMessage>> NextWork(size_t& next);

 private:
  void PassOn(const WorkItem& w, WorkMessage& msg);
  void Heartbeat();
  struct Outcome {
    bool ok = false;
    std::string error;
    std::string report_json, report_html;
    std::string pcap, events;  // a detonation's OUT/traffic.pcap and events.jsonl ("" for static triage)
    std::vector<std::pair<std::string, std::string>> dropped;  // (sha256, content) of files the sample left
    std::string verdict;
    double score = 0;
    std::vector<std::string> techniques;
  };
  Outcome Analyse(const WorkItem& w, const std::string& sample, const std::string& name, int slot, WorkMessage& msg);
  Outcome RunStatic(const std::string& dir, const std::string& file, const WorkItem& w, WorkMessage& msg);
  Outcome RunDetonation(const std::string& dir, const std::string& file, const WorkItem& w, WorkMessage& msg);

  Engine& engine_;
  WorkerConfig cfg_;
  Fingerprint fp_;
  std::atomic<int> busy_{0};
  std::atomic<uint64_t> analyses_{0}, failures_{0};
};

// A name safe to give the sample on disk (runner choice reads the extension): the last path
// component of `name`, only [A-Za-z0-9._-] kept, at most 100 bytes, never empty or dot-only.
std::string SafeSampleName(const std::string& name);

}  // namespace airlock::service
