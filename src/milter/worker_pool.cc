#include "milter/worker_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "process/spawn.h"

namespace airlock::milter {

const char* CallErrorName(CallError e) {
  switch (e) {
    case CallError::kNone: return "none";
    case CallError::kOverloaded: return "overloaded";
    case CallError::kTimeout: return "timeout";
    case CallError::kWorkerDied: return "worker died";
    case CallError::kInternal: return "internal error";
  }
  return "internal error";
}

WorkerPool::WorkerPool(std::vector<std::string> argv, int workers, int queue)
    : argv_(std::move(argv)), queue_limit_(queue), workers_(static_cast<size_t>(std::max(1, workers))) {}

WorkerPool::~WorkerPool() { Stop(); }

// Not process::SpawnAndCapture: a worker is long-lived and its pipes stay open across calls (frames
// in both directions), so only the lower-level pieces (pipes, fork/exec with the signal reset) are shared.
Status WorkerPool::Spawn(Worker& w) {
  auto in = process::MakePipe();
  if (!in) return std::unexpected(std::move(in.error()));
  auto out = process::MakePipe();
  if (!out) return std::unexpected(std::move(out.error()));
  // stderr stays the daemon's (the worker's errors go to its log).
  auto pid = process::ForkExec(argv_, process::ChildStdio{in->read.get(), out->write.get(), process::kInherit});
  if (!pid) return std::unexpected(std::move(pid.error()));
  w.pid = *pid;
  w.in = std::move(in->write);
  w.out = std::move(out->read);
  w.ready = false;
  return Ok();
}

void WorkerPool::Kill(Worker& w) {
  if (w.pid > 0) {
    ::kill(w.pid, SIGKILL);
    int st = 0;
    while (waitpid(w.pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  w.pid = 0;
  w.in.reset();
  w.out.reset();
  w.ready = false;
}

Status WorkerPool::Start(std::chrono::milliseconds timeout) {
  Deadline deadline = std::chrono::steady_clock::now() + timeout;
  std::lock_guard lock(mu_);
  for (auto& w : workers_) {
    if (auto s = Spawn(w); !s) return std::unexpected(std::move(s.error()).WithContext("starting a scan worker"));
  }
  for (auto& w : workers_) {
    auto f = ReadFrame(w.out.get(), deadline);
    if (!f) return std::unexpected(std::move(f.error()).WithContext("scan worker did not start (see its error above)"));
    auto j = nlohmann::json::parse(f->header, nullptr, false);
    if (j.is_discarded() || !j.value("ready", false)) {
      return MakeError("scan worker failed to start: " + (j.is_discarded() ? f->header : j.value("error", f->header)));
    }
    w.ready = true;
  }
  return Ok();
}

CallResult WorkerPool::Call(const std::string& header, const std::string& payload, Deadline deadline) {
  using Ms = std::chrono::duration<double, std::milli>;
  CallResult r;
  Worker* w = nullptr;
  auto t0 = std::chrono::steady_clock::now();
  {
    std::unique_lock lock(mu_);
    auto idle = [&]() -> Worker* {
      for (auto& x : workers_)
        if (!x.busy) return &x;
      return nullptr;
    };
    w = idle();
    if (w == nullptr) {
      if (waiting_ >= queue_limit_) {
        r.error = CallError::kOverloaded;
        r.detail = "all " + std::to_string(workers_.size()) + " workers busy and " + std::to_string(waiting_) +
                   " messages queued";
        return r;
      }
      ++waiting_;
      bool got = cv_.wait_until(lock, deadline, [&] { return stopping_ || (w = idle()) != nullptr; });
      --waiting_;
      if (!got || stopping_) {
        r.error = stopping_ ? CallError::kInternal : CallError::kTimeout;
        r.detail = stopping_ ? "shutting down" : "no worker became free within the budget";
        return r;
      }
    }
    w->busy = true;
    // An idle worker never writes: EOF or data now means it died (or misbehaved) while idle. Replace it
    // before this message is given to it, instead of failing the message.
    if (w->pid != 0 && w->ready) {
      pollfd p{w->out.get(), POLLIN, 0};
      if (::poll(&p, 1, 0) > 0 && p.revents != 0) Kill(*w);
    }
    if (w->pid == 0) {
      if (auto s = Spawn(*w); !s) {
        w->busy = false;
        cv_.notify_one();
        r.error = CallError::kInternal;
        r.detail = s.error().What();
        return r;
      }
      ++respawns_;
    }
  }
  // The worker is ours until we clear `busy`.
  auto t1 = std::chrono::steady_clock::now();
  r.queued_ms = Ms(t1 - t0).count();
  auto fail = [&](CallError e, std::string detail) {
    r.error = e;
    r.detail = std::move(detail);
    Kill(*w);
    // Respawn now so that it loads its rules while the MTA retries; if that fails, the next call does.
    if (Spawn(*w)) ++respawns_;
  };
  if (!w->ready) {
    auto f = ReadFrame(w->out.get(), deadline);
    if (!f) fail(f.error().err() == ETIMEDOUT ? CallError::kTimeout : CallError::kWorkerDied, "worker start: " + f.error().What());
    else w->ready = true;
  }
  if (r.error == CallError::kNone) {
    if (auto s = WriteFrame(w->in.get(), header, payload, deadline); !s) {
      fail(s.error().err() == ETIMEDOUT ? CallError::kTimeout : CallError::kWorkerDied, s.error().What());
    } else {
      auto f = ReadFrame(w->out.get(), deadline);
      if (!f) fail(f.error().err() == ETIMEDOUT ? CallError::kTimeout : CallError::kWorkerDied, f.error().What());
      else r.reply = std::move(*f);
    }
  }
  r.worker_ms = Ms(std::chrono::steady_clock::now() - t1).count();
  {
    std::lock_guard lock(mu_);
    w->busy = false;
  }
  cv_.notify_one();
  return r;
}

void WorkerPool::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  for (auto& w : workers_) {
    if (!w.busy) Kill(w);
  }
  cv_.notify_all();
}

std::vector<pid_t> WorkerPool::Pids() {
  std::lock_guard lock(mu_);
  std::vector<pid_t> v;
  for (auto& w : workers_) v.push_back(w.pid);
  return v;
}

}  // namespace airlock::milter
