#include "milter/worker_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

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

Status WorkerPool::Spawn(Worker& w) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return ErrnoError("pipe");
  if (pipe2(out, O_CLOEXEC) != 0) {
    int saved = errno;
    close(in[0]);
    close(in[1]);
    errno = saved;
    return ErrnoError("pipe");
  }
  std::vector<char*> args;
  for (auto& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    int saved = errno;
    for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
    errno = saved;
    return ErrnoError("fork");
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec (libmilter runs threads).
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  w.pid = pid;
  w.in = UniqueFd(in[1]);
  w.out = UniqueFd(out[0]);
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
