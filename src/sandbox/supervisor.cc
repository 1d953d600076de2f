#include "sandbox/supervisor.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "cgroup/cgroup.h"
#include "core/fd_passing.h"
#include "sandbox/classify.h"
#include "sandbox/control.h"
#include "sandbox/signals.h"

namespace airlock {

ScopedSignalMask::ScopedSignalMask(const sigset_t& set) { ::sigprocmask(SIG_BLOCK, &set, &old_); }
ScopedSignalMask::~ScopedSignalMask() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
void ScopedSignalMask::KeepBlocked(const sigset_t& set) {
  for (int signo = 1; signo < NSIG; ++signo) {
    if (sigismember(&set, signo) == 1) sigaddset(&old_, signo);
  }
}

ScopedSignalIgnore::ScopedSignalIgnore(int signo) : signo_(signo) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(signo_, &ignore, &old_);
}
ScopedSignalIgnore::~ScopedSignalIgnore() { ::sigaction(signo_, &old_, nullptr); }

Supervisor::Supervisor(SupervisorOptions options) : opts_(std::move(options)) {
  sigemptyset(&forwarded_);
  AddForwardedSignals(&forwarded_, /*by_init=*/false);
  mask_.emplace(forwarded_);
  stop_.reset(::eventfd(0, EFD_CLOEXEC));  // read by no one: once written, every seccomp thread sees it
}

Supervisor::~Supervisor() {
  uint64_t one = 1;
  const bool stopped = ::write(stop_.get(), &one, sizeof one) == sizeof one;
  for (std::thread* t : AllThreads()) {
    if (!t->joinable()) continue;
    if (stopped) t->join();
    else t->detach();  // cannot happen with a live eventfd; never std::terminate
  }
  RestoreSignals();
}

std::vector<std::thread*> Supervisor::AllThreads() {
  std::vector<std::thread*> all = {&thread_};
  for (auto& t : exec_threads_) all.push_back(&t);
  return all;
}

void Supervisor::IgnoreSigpipe() {
  if (!sigpipe_) sigpipe_.emplace(SIGPIPE);
}

void Supervisor::RestoreSignals() {
  mask_.reset();
  sigpipe_.reset();
}

int Supervisor::TimeoutMs(const SandboxProcess& process, bool timed_out) const {
  int wait_ms = -1;
  auto until = [&wait_ms](SupervisorClock::time_point t) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - SupervisorClock::now()).count();
    const int ms = left < 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
    wait_ms = wait_ms < 0 ? ms : std::min(wait_ms, ms);
  };
  if (opts_.timeout && !timed_out) until(deadline_);
  if (auto d = process.Deadline()) until(*d);
  if (stop_deadline_) until(*stop_deadline_);
  return wait_ms;
}

// A poll that timed out: the handle's own deadline, the run's timeout, a stop's grace.
void Supervisor::OnDeadlines(SandboxProcess& process, Supervised& s) {
  const auto now = SupervisorClock::now();
  auto d = process.Deadline();
  if (d && now >= *d) {
    s.abandoned = process.OnDeadline() == SandboxProcess::Event::kAbandoned;
    return;
  }
  if (opts_.timeout && !s.timed_out && now >= deadline_) {
    s.timed_out = true;
    KillSandbox(process);
  }
  if (stop_deadline_ && now >= *stop_deadline_) {
    stop_deadline_.reset();
    if (!s.killed_on_interrupt) {
      s.killed_on_interrupt = true;
      KillSandbox(process);
    }
  }
}

// One request on the control socket (control.h): init's pid, or a stop (SIGTERM now, SIGKILL after
// the grace unless the sandbox ended first).
void Supervisor::OnControl(SandboxProcess& process, Supervised& s) {
  auto req = AcceptControl(opts_.control_fd);
  if (!req) return;
  switch (req->kind) {
    case ControlRequest::Kind::kInfo:
      AnswerControl(*req, fmt::format(R"({{"init_pid":{},"launch":"{}"}})", process.HostPid(), process.LaunchKind()));
      return;
    case ControlRequest::Kind::kStop:
      if (s.interrupt_signal == 0) s.interrupt_signal = SIGTERM;
      if (!s.killed_on_interrupt) process.Signal(SIGTERM);
      if (!stop_deadline_) stop_deadline_ = SupervisorClock::now() + std::chrono::milliseconds(req->grace_ms);
      AnswerControl(*req, "ok");
      return;
    case ControlRequest::Kind::kExec:
      OnExec(*req, process);
      return;
    case ControlRequest::Kind::kInvalid:
      AnswerControl(*req, "error: unknown or malformed request (info, stop MS, exec)");
      return;
  }
}

// `airlock exec`: the caller's request completed by the run's rules, a notify socket for the exec'd
// process's seccomp listener, both handed to init with the caller's descriptors.
void Supervisor::OnExec(ControlRequest& req, SandboxProcess& process) {
  ExecMessage m;
  if (!DecodeExec(kExecClientMagic, req.text, &m)) {
    AnswerControl(req, "error: malformed exec request");
    return;
  }
  if (!opts_.exec) {
    AnswerControl(req, "error: this sandbox takes no exec requests");
    return;
  }
  auto msg = opts_.exec(std::move(m));
  if (!msg) {
    AnswerControl(req, "error: " + msg.error().What());
    return;
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    AnswerControl(req, fmt::format("error: socketpair: {}", std::strerror(errno)));
    return;
  }
  UniqueFd ours(sv[0]), theirs(sv[1]);
  int fds[kExecInitFds];
  for (size_t i = 0; i < kExecClientFds; ++i) fds[i] = req.fds[i].get();
  fds[kExecNotify] = theirs.get();
  if (Status st = process.SendExec(*msg, fds, kExecInitFds); !st) {
    AnswerControl(req, "error: " + st.error().What());
    return;
  }
  exec_notify_.push_back(std::move(ours));
  AnswerControl(req, "ok");
}

// SIGKILL to pid 1 ends its pid namespace; the cgroup catches what left it.
void Supervisor::KillSandbox(SandboxProcess& process) {
  process.Kill();
  if (opts_.cgroup != nullptr && opts_.cgroup->active()) (void)opts_.cgroup->KillAll();
}

// Forwards what the signalfd holds; an interrupt is recorded and, with kill_on_interrupt, kills the
// sandbox instead.
void Supervisor::OnSignals(int sigfd, SandboxProcess& process, Supervised& s) {
  struct signalfd_siginfo si;
  while (::read(sigfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    const int signo = static_cast<int>(si.ssi_signo);
    if (signo == SIGWINCH && opts_.terminal != nullptr) {
      opts_.terminal->OnWindowChange();
      continue;
    }
    if (IsInterruptSignal(signo) && s.interrupt_signal == 0) s.interrupt_signal = signo;
    if (!IsInterruptSignal(signo) || !opts_.kill_on_interrupt) {
      process.Signal(signo);
    } else if (!s.killed_on_interrupt) {
      s.killed_on_interrupt = true;
      KillSandbox(process);
    }
  }
}

void Supervisor::OnListener(UniqueFd listener) {
  listener_ = std::move(listener);
  if (!opts_.lazy_notify_thread) StartNotifyThread();
}

// The program a seccomp thread serves: opts_.program, or compiled on the calling thread.
const SeccompProgram* Supervisor::ProgramOnThread(std::optional<SeccompProgram>& compiled, Result<NotifyStats>& stats) {
  if (opts_.program != nullptr) return opts_.program;
  auto prog = opts_.compile ? opts_.compile() : Result<SeccompProgram>(std::unexpected(Error("no seccomp program")));
  if (!prog) {
    stats = std::unexpected(prog.error());
    return nullptr;
  }
  compiled.emplace(std::move(*prog));
  return &*compiled;
}

namespace {

// The hooks every seccomp thread of a run calls, serialized by `mu`.
struct SerializedHooks {
  NotifyHook hook;
  NotifyDeniedHook denied;
};
SerializedHooks MakeHooks(std::mutex& mu, SupervisorObserver* obs, std::map<std::string, uint64_t>& observed) {
  SerializedHooks h;
  h.hook = [&mu, &observed, obs](const NotifyEvent& ev) {
    std::lock_guard lock(mu);
    CountFilelessExecution(ev, observed);
    return obs ? obs->OnNotify(ev) : NotifyAnswer{};
  };
  if (obs) {
    h.denied = [&mu, obs](const NotifyEvent& ev) {
      std::lock_guard lock(mu);
      obs->OnDeniedNotify(ev);
    };
  }
  return h;
}

}  // namespace

void Supervisor::StartNotifyThread() {
  // Started after clone, so the sandbox never saw this thread.
  thread_ = std::thread([this]() {
    std::optional<SeccompProgram> compiled;
    const SeccompProgram* program = ProgramOnThread(compiled, stats_);
    if (program == nullptr) return;
    SerializedHooks h = MakeHooks(notify_mu_, opts_.observer, observed_);
    stats_ = RunNotifySupervisor(listener_.get(), *program, stop_.get(), h.hook, h.denied);
  });
}

// An exec'd process's listener: served until it and its descendants are gone (or the run is over).
void Supervisor::StartExecNotifyThread(UniqueFd listener) {
  exec_threads_.emplace_back([this, fd = std::make_shared<UniqueFd>(std::move(listener))]() {
    std::optional<SeccompProgram> compiled;
    Result<NotifyStats> stats = NotifyStats{};
    const SeccompProgram* program = ProgramOnThread(compiled, stats);
    if (program == nullptr) return;
    SerializedHooks h = MakeHooks(notify_mu_, opts_.observer, observed_);
    stats = RunNotifySupervisor(fd->get(), *program, stop_.get(), h.hook, h.denied);
    std::lock_guard lock(notify_mu_);
    if (stats) {
      for (const auto& [name, n] : stats->denials) exec_denials_[name] += n;
    }
  });
}

namespace {

void ReadErrorRecord(UniqueFd& fd, Supervised& s) {
  ChildErrorRecord rec{};
  ssize_t r = ::read(fd.get(), &rec, sizeof rec);
  if (r == static_cast<ssize_t>(sizeof rec) && !s.child_error) s.child_error = rec;
  if (r <= 0) fd.reset();
}

// True when a record arrived.
bool ReadStatusRecord(UniqueFd& fd, Supervised& s) {
  StatusRecord rec;
  ssize_t r = ::read(fd.get(), &rec, sizeof rec);
  if (r <= 0) fd.reset();
  if (r != static_cast<ssize_t>(sizeof rec)) return false;
  s.payload = rec;
  s.payload_exit = SupervisorClock::now();
  return true;
}

}  // namespace

Supervised Supervisor::Run(SandboxProcess& process, SupervisedChannels& ch) {
  IgnoreSigpipe();
  if (opts_.kill_on_interrupt && mask_) {
    sigset_t interrupts;
    sigemptyset(&interrupts);
    for (int signo : kInterruptSignals) sigaddset(&interrupts, signo);
    mask_->KeepBlocked(interrupts);  // after the launch: the sandbox got the caller's own mask
  }
  // The timeout counts from here: the sandbox was released (cold) or the request sent (warm).
  deadline_ = SupervisorClock::now() + opts_.timeout.value_or(std::chrono::milliseconds(0));
  UniqueFd sigfd(::signalfd(-1, &forwarded_, SFD_CLOEXEC | SFD_NONBLOCK));
  Supervised s;
  std::vector<struct pollfd> fds;
  while (!s.ended && !s.abandoned) {
    fds.assign(7 + exec_notify_.size(), {});
    nfds_t n = 0;
    auto add = [&](int fd) { return fd >= 0 ? (fds[n] = {fd, POLLIN, 0}, static_cast<int>(n++)) : -1; };
    const int i_proc = add(process.fd());
    const int i_err = add(ch.error_r.get());
    const int i_status = add(ch.status_r.get());
    const int i_sig = add(sigfd.get());
    const int i_notify = add(ch.notify_r.get());
    const int i_listener = add(listener_ && !thread_.joinable() ? listener_.get() : -1);
    const int i_control = add(opts_.control_fd);
    const int i_exec = static_cast<int>(n);
    for (const UniqueFd& e : exec_notify_) add(e.get());
    int r = ::poll(fds.data(), n, TimeoutMs(process, s.timed_out));
    if (r < 0) {
      if (errno == EINTR) continue;
      process.Kill();
      break;
    }
    if (r == 0) {
      OnDeadlines(process, s);
      continue;
    }
    if (i_err >= 0 && fds[i_err].revents) ReadErrorRecord(ch.error_r, s);
    if (i_status >= 0 && fds[i_status].revents && ReadStatusRecord(ch.status_r, s)) {
      if (opts_.observer) opts_.observer->OnPayloadStatus(*s.payload);
      // A warm init reports only after it killed and reaped everything else: done.
      if (process.EndsWithStatus()) s.ended = true;
    }
    if (i_sig >= 0 && fds[i_sig].revents) OnSignals(sigfd.get(), process, s);
    for (size_t k = exec_notify_.size(); k-- > 0;) {
      if (fds[static_cast<size_t>(i_exec) + k].revents == 0) continue;
      int fd = ReceiveFd(exec_notify_[k].get());  // -1: the exec'd process failed or uses no listener
      exec_notify_.erase(exec_notify_.begin() + static_cast<long>(k));
      if (fd >= 0) StartExecNotifyThread(UniqueFd(fd));
    }
    if (i_control >= 0 && fds[i_control].revents) OnControl(process, s);
    if (i_notify >= 0 && fds[i_notify].revents) {
      int fd = ReceiveFd(ch.notify_r.get());
      ch.notify_r.reset();
      if (fd >= 0) OnListener(UniqueFd(fd));
    }
    if (i_listener >= 0 && fds[i_listener].revents) {
      if (fds[i_listener].revents & POLLIN) StartNotifyThread();
      else listener_.reset();  // every filtered process is gone and none was ever notified
    }
    if (!s.ended && i_proc >= 0 && fds[i_proc].revents) {
      auto ev = process.OnReadable();
      s.ended = ev == SandboxProcess::Event::kEnded;
      s.abandoned = ev == SandboxProcess::Event::kAbandoned;
    }
  }
  // The terminal's last output, then the caller's terminal restored, while the forwarded signals are
  // still blocked (none can end us in between).
  if (opts_.terminal != nullptr && !s.abandoned) opts_.terminal->Finish();
  RestoreSignals();
  if (s.abandoned) return s;
  process.Close();
  // Drain what is left in the pipes after the sandbox is gone.
  if (ch.error_r && !s.child_error) ReadErrorRecord(ch.error_r, s);
  if (ch.status_r && !s.payload) ReadStatusRecord(ch.status_r, s);
  return s;
}

void Supervisor::Finish(RunOutcome* outcome) {
  uint64_t one = 1;
  if (!exec_threads_.empty() && ::write(stop_.get(), &one, sizeof one) == sizeof one) {
    for (auto& t : exec_threads_) t.join();
    exec_threads_.clear();
  }
  FinishNotifySupervisor(thread_, stop_.get(), observed_, stats_, outcome);
  for (const auto& [name, n] : exec_denials_) outcome->denied_syscalls[name] += n;
  if (!thread_.joinable() && !observed_.empty()) outcome->observed_syscalls = observed_;
}

}  // namespace airlock
