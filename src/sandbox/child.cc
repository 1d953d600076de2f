#include "sandbox/child.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <cerrno>
#include <cstring>

#include "caps/caps.h"
#include "cgroup/cgroup.h"
#include "core/fd_passing.h"
#include "core/log.h"
#include "kernel/syscalls.h"
#include "net/net.h"
#include "process/child_error.h"
#include "process/close_fds.h"
#include "sandbox/exec_wire.h"
#include "sandbox/signals.h"
#include "tty/pty_relay.h"

namespace airlock {
namespace {

void NoopHandler(int) {}

}  // namespace

// Allocation-free step timing for AIRLOCK_TRACE_SETUP=1 (microseconds since clone).
void TraceStepInChild(const PreparedRun& run, const char* step) {
  if (!run.trace_steps) return;
  static struct timespec start = {0, 0};
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (start.tv_sec == 0 && start.tv_nsec == 0) start = now;
  long us = (now.tv_sec - start.tv_sec) * 1000000L + (now.tv_nsec - start.tv_nsec) / 1000;
  char buf[128];
  char num[24];
  int n = 0;
  do {
    num[n++] = static_cast<char>('0' + us % 10);
    us /= 10;
  } while (us > 0 && n < 20);
  size_t p = 0;
  const char* prefix = "airlock: child +";
  for (const char* c = prefix; *c; ++c) buf[p++] = *c;
  while (n > 0) buf[p++] = num[--n];
  for (const char* c = "us "; *c; ++c) buf[p++] = *c;
  for (const char* c = step; *c && p < sizeof buf - 2; ++c) buf[p++] = *c;
  buf[p++] = '\n';
  buf[p] = '\0';
  RawWrite(2, buf);
}

// The payload's lock-down, shared by cold and warm payloads (child.h).
int LockDownPayloadInChild(const PreparedRun& run, int err, int* keep, size_t nkeep, const sigset_t& old_mask) {
  return LockDownPayloadInChild(run, run.terminal, -1, err, keep, nkeep, old_mask);
}

int LockDownPayloadInChild(const PreparedRun& run, const StdioTerminal& terminal, int landlock_ruleset, int err, int* keep,
                           size_t nkeep, const sigset_t& old_mask) {
  if (run.policy.new_session && ::setsid() < 0) ChildFail(err, "setsid", "", errno);
  // The private terminal (tty/pty_relay.h) over stdio, the controlling terminal of the new session.
  if (int rc = AttachTerminalInChild(terminal, run.policy.new_session); rc != 0) {
    ChildFail(err, "attach the sandbox's terminal", "", -rc);
  }
  if (run.policy.new_keyring) {
    // KEYCTL_JOIN_SESSION_KEYRING with a NULL name: a fresh anonymous session keyring.
    if (::syscall(SYS_keyctl, 1 /*KEYCTL_JOIN_SESSION_KEYRING*/, nullptr) < 0 && errno != ENOSYS) {
      ChildFail(err, "join new session keyring", "", errno);
    }
  }
  TraceStepInChild(run, "setsid, session keyring");
  if (int rc = ApplyRlimitsInChild(run.rlimits); rc != 0) ChildFail(err, "setrlimit", "", -rc);
  if (int rc = LowerUcountRlimitsInChild(run.ucounts); rc != 0) ChildFail(err, "setrlimit (per-user counter share)", "", -rc);

  // File descriptors: stdio, the pass-fds and our own channels survive until execve; everything else
  // is closed now (inherited host fds never reach the payload, cf. CVE-2024-21626).
  CloseFdsExcept(keep, nkeep);
  for (int fd : run.pass_fds) {
    if (::fcntl(fd, F_SETFD, 0) != 0) ChildFail(err, "pass-fd", "", errno);
  }

  if (::chdir(run.chdir.c_str()) != 0) ChildFail(err, "chdir", run.chdir.c_str(), errno);

  const bool drop_caps = !run.policy.keep_capabilities;  // weaken.keep_capabilities: a reported weakening
  if (drop_caps) {
    if (int rc = DropBoundingAndLockSecurebitsInChild(); rc != 0) ChildFail(err, "drop capability bounding set", "", -rc);
  }
  if (::setresgid(run.ids.inside_gid, run.ids.inside_gid, run.ids.inside_gid) != 0) ChildFail(err, "setresgid", "", errno);
  if (::setresuid(run.ids.inside_uid, run.ids.inside_uid, run.ids.inside_uid) != 0) ChildFail(err, "setresuid", "", errno);
  if (drop_caps) {
    if (int rc = ClearCapabilitiesInChild(); rc != 0) ChildFail(err, "clear capabilities", "", -rc);
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ChildFail(err, "no_new_privs", "", errno);
  TraceStepInChild(run, "rlimits, fds, caps, uid");
  if (run.landlock.enabled) {
    int rc = landlock_ruleset >= 0 ? RestrictLandlockInChild(landlock_ruleset) : ApplyLandlockInChild(run.landlock);
    if (rc != 0) ChildFail(err, "landlock", "", -rc);
    if (landlock_ruleset >= 0) ::close(landlock_ruleset);
  }
  TraceStepInChild(run, "landlock");
  if (::sigprocmask(SIG_SETMASK, &old_mask, nullptr) != 0) ChildFail(err, "sigprocmask", "", errno);
  int listener = -1;
  if (run.seccomp) {
    int rc = InstallSeccompInChild(*run.seccomp);
    if (rc < 0) ChildFail(err, "seccomp", "", -rc);
    if (run.seccomp->uses_user_notif) listener = rc;
  }
  TraceStepInChild(run, "seccomp");
  return listener;
}

[[noreturn]] void ExecPayloadInChild(int err, char* const* argv, char* const* envp, const char* const* exec, size_t execc) {
  int last_err = ENOENT;
  for (size_t i = 0; i < execc; ++i) {
    ::execve(exec[i], argv, envp);
    if (errno != ENOENT && errno != ENOTDIR) last_err = errno;
    if (last_err != ENOENT) break;
  }
  ChildFail(err, "exec", argv[0], last_err);
}

namespace {

// Cold payload: started by init right before its execve (CLONE_VM|CLONE_VFORK, see below).
[[noreturn]] void RunPayload(const PreparedRun& run, const PayloadSpec& spec, const ChildChannels& ch, const sigset_t& old_mask) {
  int err = ch.error_write;
  TraceStepInChild(run, "payload forked");
  int keep[64];
  size_t nkeep = 0;
  for (int fd : run.pass_fds) {
    if (nkeep < 60) keep[nkeep++] = fd;
  }
  keep[nkeep++] = err;
  if (ch.notify_write >= 0) keep[nkeep++] = ch.notify_write;
  int listener = LockDownPayloadInChild(run, err, keep, nkeep, old_mask);
  if (listener >= 0) {
    if (int s = SendFd(ch.notify_write, listener); s != 0) ChildFail(err, "send seccomp listener", "", -s);
    ::close(listener);
  }
  if (ch.notify_write >= 0) ::close(ch.notify_write);
  TraceStepInChild(run, "listener hand-over; execve");
  ExecPayloadInChild(err, spec.argv, spec.envp, spec.exec, spec.execc);
}

struct PayloadStart {
  const PreparedRun* run;
  const PayloadSpec* spec;
  const ChildChannels* ch;
  const sigset_t* old_mask;
};

// The payload's stack until execve (it runs in init's address space, see RunSandboxInitInChild).
alignas(64) char g_payload_stack[256 * 1024];

int PayloadEntry(void* arg) {
  auto* s = static_cast<PayloadStart*>(arg);
  RunPayload(*s->run, *s->spec, *s->ch, *s->old_mask);
}

}  // namespace

// The status record for the client: wait status plus what every reaped process used.
void WriteStatusRecordInChild(int fd, int status) {
  StatusRecord rec;
  rec.raw_status = status;
  struct rusage ru {};
  if (::getrusage(RUSAGE_CHILDREN, &ru) == 0) {
    rec.user_us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec;
    rec.system_us = ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
    rec.maxrss_kb = ru.ru_maxrss;
  }
  ssize_t w = ::write(fd, &rec, sizeof rec);
  (void)w;
}

[[noreturn]] void ExitLikePayloadInChild(int status) {
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  _exit(128 + WTERMSIG(status));
}

namespace {

// The run's Landlock ruleset, built by init before the payload started (exec'd processes restrict
// themselves with it); -1: none (they build their own from the plan, as the payload did).
int g_exec_ruleset = -1;

// init's buffer for one exec message and the decoder's pointers (init is single-threaded).
alignas(16) char g_exec_msg[kMaxExecMessage];
char* g_exec_ptrs[kMaxExecStrings + 2];

void CloseAll(const int* fds, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (fds[i] >= 0) ::close(fds[i]);
  }
}

// The exec'd process, forked by init: the caller's stdio, then the payload's lock-down (the same
// function over the same PreparedRun), its seccomp listener to the supervisor, then what the caller
// asked for: controlling terminal, cwd and umask (after Landlock and seccomp), execve.
[[noreturn]] void RunExecInChild(const PreparedRun& run, const DecodedExec& d, const int* fds, const sigset_t& old_mask) {
  const int err = fds[kExecError];
  for (int i = 0; i < 3; ++i) {
    if (::dup2(fds[i], i) != i) ChildFail(err, "exec stdio", "", errno);
  }
  int keep[64];
  size_t nkeep = 0;
  for (int fd : run.pass_fds) {
    if (nkeep < 60) keep[nkeep++] = fd;  // as the payload: the run's --pass-fd descriptors
  }
  keep[nkeep++] = err;
  keep[nkeep++] = fds[kExecNotify];
  if (g_exec_ruleset >= 0) keep[nkeep++] = g_exec_ruleset;
  int listener = LockDownPayloadInChild(run, StdioTerminal{}, g_exec_ruleset, err, keep, nkeep, old_mask);
  if (listener >= 0) {
    if (int s = SendFd(fds[kExecNotify], listener); s != 0) ChildFail(err, "send seccomp listener", "", -s);
    ::close(listener);
  }
  ::close(fds[kExecNotify]);
  if (run.policy.new_session && d.terminal != 0) {
    if (int rc = TakeControllingTerminalInChild(d.terminal); rc != 0) ChildFail(err, "attach the caller's terminal", "", -rc);
  }
  if (d.cwd[0] != '\0' && ::chdir(d.cwd) != 0) ChildFail(err, "chdir", d.cwd, errno);
  ::umask(static_cast<mode_t>(d.umask));
  ExecPayloadInChild(err, d.argv, d.envp, d.exec, d.execc);
}

}  // namespace

ssize_t ReceiveExecChannelInInit(int sock, char** msg, int* fds, size_t* nfds) {
  int raw[kMaxPassedFds];
  size_t n = 0;
  bool truncated = false;
  ssize_t len = ReceiveWithFds(sock, g_exec_msg, sizeof g_exec_msg, raw, kMaxPassedFds, &n, &truncated, MSG_DONTWAIT);
  *nfds = 0;
  for (size_t i = 0; i < n; ++i) {
    fds[(*nfds)++] = ::fcntl(raw[i], F_DUPFD_CLOEXEC, 10);  // never 0-2: the exec'd process dup2s onto those
    ::close(raw[i]);
  }
  if (len > 0 && truncated) {
    CloseAll(fds, *nfds);
    *nfds = 0;
    return -EMSGSIZE;
  }
  *msg = g_exec_msg;
  return len;
}

void StartExecInInit(const PreparedRun& run, char* msg, size_t len, int* fds, size_t nfds, const sigset_t& old_mask,
                     ExecChildren* children) {
  const int err = nfds > kExecError ? fds[kExecError] : -1;
  // init never blocks on a caller's descriptor (a full pipe, a socket whose peer does not read).
  for (size_t i = kExecError; i <= kExecStatus && i < nfds; ++i) {
    if (fds[i] >= 0) ::fcntl(fds[i], F_SETFL, ::fcntl(fds[i], F_GETFL) | O_NONBLOCK);
  }
  DecodedExec d;
  bool ok = nfds == kExecInitFds && DecodeExecInPlace(kExecInitMagic, msg, len, g_exec_ptrs, kMaxExecStrings + 2, &d);
  for (size_t i = 0; ok && i < nfds; ++i) ok = fds[i] >= 0;
  if (!ok) {
    if (err >= 0) ChildReportError(err, "exec request", "malformed", EPROTO);
    CloseAll(fds, nfds);
    return;
  }
  if (children->count == ExecChildren::kMax) {
    ChildReportError(err, "start exec", "64 processes started by airlock exec still run", EAGAIN);
    CloseAll(fds, nfds);
    return;
  }
  pid_t pid = kernel::CloneForkLike(0, nullptr);
  if (pid == 0) RunExecInChild(run, d, fds, old_mask);
  if (pid < 0) {
    ChildReportError(err, "start exec", "", errno);
    CloseAll(fds, nfds);
    return;
  }
  // The caller signals it through a pidfd (pidfd_send_signal works from an ancestor pid namespace).
  int pidfd = kernel::PidfdOpen(pid);
  if (pidfd >= 0) {
    (void)SendFd(fds[kExecStatus], pidfd);
    ::close(pidfd);
  }
  children->pid[children->count] = pid;
  children->status_fd[children->count] = fds[kExecStatus];
  ++children->count;
  fds[kExecStatus] = -1;
  CloseAll(fds, nfds);
}

bool ReportExecEndInInit(ExecChildren* children, pid_t pid, int status, const struct rusage& ru) {
  for (size_t i = 0; i < children->count; ++i) {
    if (children->pid[i] != pid) continue;
    StatusRecord rec;
    rec.raw_status = status;
    rec.user_us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec;
    rec.system_us = ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
    rec.maxrss_kb = ru.ru_maxrss;
    ssize_t w = ::send(children->status_fd[i], &rec, sizeof rec, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    ::close(children->status_fd[i]);
    --children->count;
    children->pid[i] = children->pid[children->count];
    children->status_fd[i] = children->status_fd[children->count];
    return true;
  }
  return false;
}


namespace {

// Waits for the parent's "go" and, for a root caller, takes the inside identity; leaves die-with-parent
// armed after the last credential change. Closes the sync pipe.
void AwaitReleaseInChild(const PreparedRun& run, const ChildChannels& ch) {
  const int err = ch.error_write;
  if (run.policy.die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  char go = 0;
  ssize_t n;
  do {
    n = ::read(ch.sync_read, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) _exit(kChildSetupExit);  // the parent died or gave up before releasing us
  TraceStepInChild(run, "released");

  OpenMountSourcesInChild(run.mounts, err);
  TraceStepInChild(run, "opened bind sources");
  if (run.ids.caller_is_root) {
    // Root caller: we were cloned with effective ids = the outside ids (the namespace's owner,
    // userns.h) but real, saved and filesystem ids 0, which are not mapped in the new user namespace
    // (files we create there would fail with EOVERFLOW). Become the mapped inside identity now,
    // keeping the capabilities the namespace gave us (they are dropped for good in the payload), and
    // drop root's host groups.
    if (::setgroups(0, nullptr) != 0) ChildFail(err, "setgroups", "", errno);
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) ChildFail(err, "keepcaps", "", errno);
    if (::setresgid(run.ids.inside_gid, run.ids.inside_gid, run.ids.inside_gid) != 0) ChildFail(err, "setresgid", "", errno);
    if (::setresuid(run.ids.inside_uid, run.ids.inside_uid, run.ids.inside_uid) != 0) ChildFail(err, "setresuid", "", errno);
    if (int rc = RaiseEffectiveCapabilitiesInChild(); rc != 0) ChildFail(err, "raise capabilities", "", -rc);
  }
  if (run.policy.die_with_parent) {
    // The kernel clears the parent-death signal when the effective uid/gid changes (the root caller's
    // switch above), so it is armed again after init's last credential change. If airlock died before
    // it was armed (right after clone, or just now), no signal will ever come: airlock holds the write
    // end of the sync pipe for its whole life, so a hang-up on it means it is already gone.
    if (run.ids.caller_is_root) ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    struct pollfd alive = {ch.sync_read, POLLIN, 0};
    if (::poll(&alive, 1, 0) > 0 && (alive.revents & POLLHUP)) _exit(kChildSetupExit);
  }
  ::close(ch.sync_read);
}

// cgroup namespace, hostname, loopback, mount plan + pivot_root, not dumpable, time namespace.
void SetUpSandboxInChild(const PreparedRun& run, int err) {
  if (run.unshare_cgroup && ::unshare(CLONE_NEWCGROUP) != 0) ChildFail(err, "cgroup namespace", "", errno);
  if ((run.clone_flags & CLONE_NEWUTS) && ::sethostname(run.hostname.c_str(), run.hostname.size()) != 0) {
    ChildFail(err, "sethostname", run.hostname.c_str(), errno);
  }
  if (run.net_loopback) {
    if (int rc = BringUpLoopbackInChild(); rc != 0) ChildFail(err, "bring up loopback", "lo", -rc);
  }
  TraceStepInChild(run, "cgroupns, hostname, loopback");
  ApplyMountPlanInChild(run.mounts, err);
  TraceStepInChild(run, "mounts + pivot_root");
  // Nothing in the sandbox may ptrace init or open /proc/1/exe (the airlock binary) or /proc/1/fd.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) ChildFail(err, "set not dumpable", "", errno);
  if (run.unshare_time && ::unshare(CLONE_NEWTIME) != 0) ChildFail(err, "time namespace", "", errno);
}

// init's signals: SIGCHLD and the forwarded ones (signals.h) get a no-op handler (pid 1 receives
// signals from outside only with a handler) and are blocked, to be taken with sigwaitinfo/signalfd.
void BlockInitSignalsInChild(sigset_t* waited, sigset_t* old) {
  sigemptyset(waited);
  sigaddset(waited, SIGCHLD);
  AddForwardedSignals(waited, /*by_init=*/true);
  struct sigaction sa {};
  sa.sa_handler = NoopHandler;
  for (const auto& f : kForwardedSignals) ::sigaction(f.signo, &sa, nullptr);
  ::sigaction(SIGCHLD, &sa, nullptr);
  ::sigprocmask(SIG_BLOCK, waited, old);
}

// Reaps what ended; the payload's end is reported and ends init (exiting kills every other process
// of the pid namespace, exec'd ones too).
void ReapInChild(pid_t payload, const ChildChannels& ch, ExecChildren* execs) {
  for (;;) {
    int status = 0;
    struct rusage ru {};
    pid_t r = ::wait4(-1, &status, WNOHANG, &ru);
    if (r <= 0) return;
    if (r == payload) {
      WriteStatusRecordInChild(ch.status_write, status);
      ExitLikePayloadInChild(status);
    }
    ReportExecEndInInit(execs, r, status, ru);
  }
}

// init of a cold run once the payload started: reaping, forwarding, and `airlock exec` requests from
// the supervisor (ch.exec_read; its hang-up means the supervisor is gone: die-with-parent acts).
[[noreturn]] void ReapAndForwardInChild(const PreparedRun& run, pid_t payload, const sigset_t& waited,
                                        const sigset_t& old_mask, const ChildChannels& ch) {
  const int sfd = ::signalfd(-1, &waited, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    ::kill(payload, SIGKILL);
    _exit(kChildSetupExit);
  }
  ExecChildren execs;
  int exec_fd = ch.exec_read;
  for (;;) {
    struct pollfd fds[2] = {{sfd, POLLIN, 0}, {exec_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) {
      char* msg = nullptr;
      int rfds[kMaxPassedFds];
      size_t nfds = 0;
      ssize_t n = ReceiveExecChannelInInit(exec_fd, &msg, rfds, &nfds);
      if (n > 0) StartExecInInit(run, msg, static_cast<size_t>(n), rfds, nfds, old_mask, &execs);
      else CloseAll(rfds, nfds);
      if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR && n != -EMSGSIZE)) {
        ::close(exec_fd);
        exec_fd = -1;
      }
    }
    if (fds[0].revents) {
      struct signalfd_siginfo si;
      while (::read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo != SIGCHLD) ::kill(payload, static_cast<int>(si.ssi_signo));
      }
      ReapInChild(payload, ch, &execs);
    }
  }
}

}  // namespace

void RunSandboxInitInChild(const PreparedRun& run, const PayloadSpec& cold_spec, const ChildChannels& channels,
                           WarmStart warm) {
  ChildChannels ch = channels;
  if (ch.cgroup_tasks_count > 0) {
    // Before anything else, and while single-threaded: every process of the sandbox descends from us.
    if (int rc = JoinCgroupInChild(ch.cgroup_tasks, ch.cgroup_tasks_count); rc != 0) {
      ChildFail(ch.error_write, "join cgroup", "", -rc);
    }
    for (size_t i = 0; i < ch.cgroup_tasks_count; ++i) ::close(ch.cgroup_tasks[i]);
    ch.cgroup_tasks_count = 0;
  }
  // /proc/1/cmdline is readable by everyone inside: airlock's argv (host paths, --setenv values) and
  // environment go before anything else runs here.
  SetProcTitleInChild(run.title, "airlock-init");
  // init holds no descriptor of the caller's terminal either: the private one replaces it here too.
  if (int rc = AttachTerminalInChild(run.terminal, /*controlling=*/false); rc != 0) {
    ChildFail(ch.error_write, "attach the sandbox's terminal", "", -rc);
  }
  AwaitReleaseInChild(run, ch);
  SetUpSandboxInChild(run, ch.error_write);
  sigset_t waited, old;
  BlockInitSignalsInChild(&waited, &old);
  // `airlock exec`: the Landlock ruleset of the tree as it is now, before any payload code runs.
  if (run.landlock.enabled) g_exec_ruleset = BuildLandlockRulesetInChild(run.landlock);
  if (warm.start != nullptr) {
    warm.start(run, ch, old, waited, warm.arg);
    _exit(kChildSetupExit);  // backstop: a WarmStart does not return
  }

  // The payload is started like posix_spawn does it: CLONE_VM|CLONE_VFORK on a stack of its own, so
  // init's address space is not copied (and then thrown away by execve). The payload has its own fd
  // table, fs context, credentials, signal handlers and seccomp/Landlock state; init is suspended
  // until the payload's execve (or exit), so the shared memory is never used by both at once.
  PayloadStart start{&run, &cold_spec, &ch, &old};
  pid_t payload = ::clone(PayloadEntry, g_payload_stack + sizeof g_payload_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
  if (payload < 0) ChildFail(ch.error_write, "start payload", "", errno);
  ::close(ch.error_write);
  if (ch.notify_write >= 0) ::close(ch.notify_write);
  ReapAndForwardInChild(run, payload, waited, old, ch);
}

}  // namespace airlock
