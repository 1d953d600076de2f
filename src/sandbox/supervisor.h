// The parent side of a running sandbox, the same for a cold run (src/sandbox/launcher.h: init is our
// child, watched through its pidfd) and a run in a warm sandbox (src/pool: init belongs to the pool,
// watched through our connection to it). A launcher hands back a SandboxProcess and the same three
// channels; one Supervisor then owns the loop:
//   - the process handle: readable means it ended (cold: wait4 on the pidfd; warm: the connection);
//   - forwarded signals (signals.h) read from a signalfd and passed on with SandboxProcess::Signal;
//     an interrupt (SIGINT, SIGTERM, SIGHUP) is recorded, and with kill_on_interrupt it kills the
//     sandbox as the timeout does instead of being forwarded;
//   - the timeout: SandboxProcess::Kill (SIGKILL to init ends its pid namespace) and Cgroup::KillAll;
//   - the error pipe (ChildErrorRecord) and the status pipe (StatusRecord, written by init);
//   - the seccomp listener, sent by the payload over the notify socket, served on a thread of its own
//     (RunNotifySupervisor) that counts fileless execution and calls the observer;
//   - the control socket (control.h), when the run has one: `airlock ps` asks for init's pid, `airlock
//     stop` has SIGTERM forwarded and the sandbox killed after its grace, like an interrupt with
//     kill_on_interrupt (the report says interrupted by SIGTERM); `airlock exec` has its request
//     completed by `exec` (the run's environment rules) and handed to init (SandboxProcess::SendExec);
//   - the exec'd processes' seccomp listeners (one notify socket per exec): each served on a thread of
//     its own with the same program and the same observer (the observer's On*Notify calls are
//     serialized across these threads), their denials added to the run's;
//   - the private terminal (tty/pty_relay.h), when the run has one: SIGWINCH resizes its pty instead of
//     being forwarded (the kernel signals the payload's foreground group), and Run relays what the
//     sandbox wrote last and restores the caller's terminal (PtyRelay::Finish) before it returns.
// Signal state: the constructor blocks the forwarded signals (construct it before launching, so none
// is lost; the launched child restores saved_mask()); IgnoreSigpipe() ignores SIGPIPE from launch on (a
// closed monitor or report pipe must not kill us). Both are restored when Run returns, or by the
// destructor on any other path; with kill_on_interrupt the interrupt signals stay blocked after Run
// (the caller writes its report and exits: a second Ctrl-C cannot lose the report).
// Threading: one Supervisor per run, used from one thread; observer callbacks named On*Notify run on
// the seccomp thread, the others on the caller's.
#pragma once

#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"
#include "process/child_error.h"
#include "sandbox/child.h"
#include "sandbox/control.h"
#include "sandbox/exec_wire.h"
#include "sandbox/outcome.h"
#include "seccomp/notify.h"
#include "seccomp/seccomp.h"
#include "tty/pty_relay.h"

namespace airlock {

class Cgroup;

using SupervisorClock = std::chrono::steady_clock;

// Blocks `set` for the calling thread; restores the previous mask when destroyed.
class ScopedSignalMask {
 public:
  explicit ScopedSignalMask(const sigset_t& set);
  ~ScopedSignalMask();
  ScopedSignalMask(const ScopedSignalMask&) = delete;
  ScopedSignalMask& operator=(const ScopedSignalMask&) = delete;
  const sigset_t& saved() const { return old_; }
  // Leaves `set` blocked too when the mask is restored.
  void KeepBlocked(const sigset_t& set);

 private:
  sigset_t old_;
};

// Sets signo's disposition to SIG_IGN; restores the previous action when destroyed.
class ScopedSignalIgnore {
 public:
  explicit ScopedSignalIgnore(int signo);
  ~ScopedSignalIgnore();
  ScopedSignalIgnore(const ScopedSignalIgnore&) = delete;
  ScopedSignalIgnore& operator=(const ScopedSignalIgnore&) = delete;

 private:
  int signo_;
  struct sigaction old_ {};
};

// How the supervisor reaches a launched sandbox's init.
class SandboxProcess {
 public:
  enum class Event { kNone, kEnded, kAbandoned };  // kAbandoned: stop supervising, the run did not happen
  virtual ~SandboxProcess() = default;
  virtual int fd() const = 0;                         // polled for POLLIN
  virtual Event OnReadable() = 0;
  virtual void Signal(int signo) = 0;                 // a forwarded signal
  virtual void Kill() = 0;                            // the whole sandbox (timeout, setup failure)
  virtual bool EndsWithStatus() const { return false; }  // true: a StatusRecord means all is over
  virtual pid_t HostPid() const { return 0; }        // init's pid on the host (0: not known here)
  virtual const char* LaunchKind() const = 0;        // "cold" or "warm" (`airlock ps`)
  // Hands an exec request (exec_wire.h, kExecInitMagic) and its descriptors to init's exec channel.
  virtual Status SendExec(std::string_view, const int*, size_t) { return MakeError("this sandbox takes no exec requests"); }
  // A deadline of the handle's own (warm: the pool's answer); OnDeadline when it passes.
  virtual std::optional<SupervisorClock::time_point> Deadline() const { return std::nullopt; }
  virtual Event OnDeadline() { return Event::kNone; }
  // Supervision is over (ended, or poll failed): let go of the sandbox before the pipes are drained.
  virtual void Close() {}
};

// The channels every launcher hands back (read ends; the sandbox holds the write ends).
struct SupervisedChannels {
  UniqueFd error_r;   // ChildErrorRecord on a setup failure; EOF at the payload's execve
  UniqueFd status_r;  // StatusRecord from init when the payload ended
  UniqueFd notify_r;  // the payload sends its seccomp listener here (SCM_RIGHTS); may be empty
};

// What a caller wants to hear. Defaults do nothing.
class SupervisorObserver {
 public:
  virtual ~SupervisorObserver() = default;
  virtual NotifyAnswer OnNotify(const NotifyEvent&) { return {}; }  // seccomp thread
  virtual void OnDeniedNotify(const NotifyEvent&) {}                 // seccomp thread
  virtual void OnPayloadStatus(const StatusRecord&) {}
};

struct SupervisorOptions {
  std::optional<std::chrono::milliseconds> timeout;
  Cgroup* cgroup = nullptr;  // killed as a whole on timeout when active
  // The seccomp program the listener serves: `program` if set, else `compile` (called on the thread).
  const SeccompProgram* program = nullptr;
  std::function<Result<SeccompProgram>()> compile;
  // Start the seccomp thread only when a first notification is pending (a thread is not free on the
  // warm launch path; most runs never trigger one), instead of as soon as the listener arrives.
  bool lazy_notify_thread = false;
  SupervisorObserver* observer = nullptr;
  bool kill_on_interrupt = false;  // RunOptions::kill_on_interrupt
  PtyRelay* terminal = nullptr;  // the run's private terminal, or none
  int control_fd = -1;           // the run's control socket (control.h: listening), or -1
  // `airlock exec`: the caller's request (exec_wire.h) -> the message for init (kExecInitMagic), or why
  // not. Unset: the run takes no exec requests.
  std::function<Result<std::string>(ExecMessage)> exec;
};

struct Supervised {
  std::optional<ChildErrorRecord> child_error;
  std::optional<StatusRecord> payload;
  bool timed_out = false;
  bool ended = false;      // false: abandoned (SandboxProcess::Event::kAbandoned) or poll failed
  bool abandoned = false;
  int interrupt_signal = 0;          // the first SIGINT/SIGTERM/SIGHUP received while supervising (0: none)
  bool killed_on_interrupt = false;  // kill_on_interrupt: the sandbox was killed for it
  SupervisorClock::time_point payload_exit;  // when the StatusRecord arrived
};

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  const sigset_t& forwarded() const { return forwarded_; }
  const sigset_t& saved_mask() const { return mask_->saved(); }
  void IgnoreSigpipe();
  // The run's control socket when it is made after the launch (RunOptions::late_control); before Run.
  void SetControl(int fd) { opts_.control_fd = fd; }

  // Supervises until the process ends (or is abandoned), drains the pipes and the terminal, restores
  // the signal state.
  Supervised Run(SandboxProcess& process, SupervisedChannels& channels);
  // Joins the seccomp thread and records what it counted (observed, denied, lost) in *outcome.
  void Finish(RunOutcome* outcome);

 private:
  int TimeoutMs(const SandboxProcess& process, bool timed_out) const;
  void KillSandbox(SandboxProcess& process);
  void OnSignals(int sigfd, SandboxProcess& process, Supervised& s);
  void OnControl(SandboxProcess& process, Supervised& s);
  void OnDeadlines(SandboxProcess& process, Supervised& s);
  void OnListener(UniqueFd listener);
  void StartNotifyThread();
  void OnExec(ControlRequest& req, SandboxProcess& process);
  void StartExecNotifyThread(UniqueFd listener);
  const SeccompProgram* ProgramOnThread(std::optional<SeccompProgram>& compiled, Result<NotifyStats>& stats);
  void RestoreSignals();
  std::vector<std::thread*> AllThreads();

  SupervisorOptions opts_;
  sigset_t forwarded_;
  std::optional<ScopedSignalMask> mask_;
  std::optional<ScopedSignalIgnore> sigpipe_;
  UniqueFd listener_;
  UniqueFd stop_;
  std::thread thread_;
  Result<NotifyStats> stats_ = NotifyStats{};
  std::map<std::string, uint64_t> observed_;  // touched only by the seccomp threads (under notify_mu_) until joined
  std::mutex notify_mu_;                      // the observer's On*Notify and observed_ across seccomp threads
  std::vector<UniqueFd> exec_notify_;         // per exec: its seccomp listener arrives here
  std::vector<std::thread> exec_threads_;     // per exec'd listener
  std::map<std::string, uint64_t> exec_denials_;  // their denials (under notify_mu_)
  SupervisorClock::time_point deadline_;
  std::optional<SupervisorClock::time_point> stop_deadline_;  // `airlock stop`: kill when it passes
};

}  // namespace airlock
