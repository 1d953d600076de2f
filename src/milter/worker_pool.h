// A bounded pool of long-lived sandboxed scan workers (scan_worker.h) with a bounded wait queue.
//
// Call() takes an idle worker, or waits in the queue (at most `queue` callers wait; one more is refused
// at once with kOverloaded: back-pressure, the milter tempfails), sends one request and reads the reply
// before the deadline. A worker that dies, answers garbage or overruns the deadline during a call is
// killed (SIGKILL of its `airlock run`, whose sandbox dies with it) and respawned; that call fails.
// A worker found dead while idle is respawned before it is given a message.
// Thread-safe: libmilter calls it from its per-connection threads.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"
#include "milter/frame.h"

namespace airlock::milter {

enum class CallError { kNone, kOverloaded, kTimeout, kWorkerDied, kInternal };
const char* CallErrorName(CallError e);

struct CallResult {
  CallError error = CallError::kNone;
  std::string detail;
  Frame reply;
  double queued_ms = 0;   // time spent waiting for an idle worker
  double worker_ms = 0;   // time from handing the request to the worker to its whole reply
};

class WorkerPool {
 public:
  // `argv` starts one worker (e.g. airlock run ... -- airlock-milter --scan-worker).
  WorkerPool(std::vector<std::string> argv, int workers, int queue);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts every worker and waits (up to `timeout`) for each one's ready frame.
  Status Start(std::chrono::milliseconds timeout);
  CallResult Call(const std::string& header, const std::string& payload, Deadline deadline);
  // Kills all workers (at exit).
  void Stop();

  // Host pids of the workers' `airlock run` processes (for tests and logs); 0 = not running.
  std::vector<pid_t> Pids();
  uint64_t respawns() const { return respawns_; }

 private:
  struct Worker {
    pid_t pid = 0;
    UniqueFd in;    // its stdin (we write)
    UniqueFd out;   // its stdout (we read)
    bool busy = false;
    bool ready = false;   // ready frame already read
  };
  Status Spawn(Worker& w);
  void Kill(Worker& w);

  std::vector<std::string> argv_;
  int queue_limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Worker> workers_;
  int waiting_ = 0;
  bool stopping_ = false;
  std::atomic<uint64_t> respawns_{0};
};

}  // namespace airlock::milter
