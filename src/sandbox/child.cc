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
#include "core/fd_passing.h"
#include "core/log.h"
#include "kernel/syscalls.h"
#include "net/net.h"
#include "pool/pool_wire.h"
#include "process/child_error.h"
#include "process/close_fds.h"

namespace airlock {
namespace {

constexpr int kForwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM};

void NoopHandler(int) {}

// Allocation-free step timing for AIRLOCK_TRACE_SETUP=1 (microseconds since clone).
void TraceStep(const PreparedRun& run, const char* step) {
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

// The payload's lock-down, shared by cold and warm payloads: session, keyring, rlimits, descriptors
// (all but stdio and `keep` closed), cwd, capabilities, ids, no_new_privs, Landlock, seccomp (last).
// Returns the seccomp listener (user notification) or -1.
int LockDownPayloadInChild(const PreparedRun& run, int err, int* keep, size_t nkeep, const sigset_t& old_mask) {
  if (run.policy.new_session && ::setsid() < 0) ChildFail(err, "setsid", "", errno);
  if (run.policy.new_keyring) {
    // KEYCTL_JOIN_SESSION_KEYRING with a NULL name: a fresh anonymous session keyring.
    if (::syscall(SYS_keyctl, 1 /*KEYCTL_JOIN_SESSION_KEYRING*/, nullptr) < 0 && errno != ENOSYS) {
      ChildFail(err, "join new session keyring", "", errno);
    }
  }
  TraceStep(run, "setsid, session keyring");
  if (int rc = ApplyRlimitsInChild(run.rlimits); rc != 0) ChildFail(err, "setrlimit", "", -rc);

  // File descriptors: stdio, the pass-fds and our own channels survive until execve; everything else
  // is closed now (inherited host fds never reach the payload, cf. CVE-2024-21626).
  CloseFdsExcept(keep, nkeep);
  for (int fd : run.pass_fds) {
    if (::fcntl(fd, F_SETFD, 0) != 0) ChildFail(err, "pass-fd", "", errno);
  }

  if (::chdir(run.chdir.c_str()) != 0) ChildFail(err, "chdir", run.chdir.c_str(), errno);

  if (int rc = DropBoundingAndLockSecurebitsInChild(); rc != 0) ChildFail(err, "drop capability bounding set", "", -rc);
  if (::setresgid(run.ids.inside_gid, run.ids.inside_gid, run.ids.inside_gid) != 0) ChildFail(err, "setresgid", "", errno);
  if (::setresuid(run.ids.inside_uid, run.ids.inside_uid, run.ids.inside_uid) != 0) ChildFail(err, "setresuid", "", errno);
  if (int rc = ClearCapabilitiesInChild(); rc != 0) ChildFail(err, "clear capabilities", "", -rc);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ChildFail(err, "no_new_privs", "", errno);
  TraceStep(run, "rlimits, fds, caps, uid");
  if (run.landlock.enabled) {
    if (int rc = ApplyLandlockInChild(run.landlock); rc != 0) ChildFail(err, "landlock", "", -rc);
  }
  TraceStep(run, "landlock");
  if (::sigprocmask(SIG_SETMASK, &old_mask, nullptr) != 0) ChildFail(err, "sigprocmask", "", errno);
  int listener = -1;
  if (run.seccomp) {
    int rc = InstallSeccompInChild(*run.seccomp);
    if (rc < 0) ChildFail(err, "seccomp", "", -rc);
    if (run.seccomp->uses_user_notif) listener = rc;
  }
  TraceStep(run, "seccomp");
  return listener;
}

[[noreturn]] void ExecPayload(int err, char* const* argv, char* const* envp, const char* const* exec, size_t execc) {
  int last_err = ENOENT;
  for (size_t i = 0; i < execc; ++i) {
    ::execve(exec[i], argv, envp);
    if (errno != ENOENT && errno != ENOTDIR) last_err = errno;
    if (last_err != ENOENT) break;
  }
  ChildFail(err, "exec", argv[0], last_err);
}

// Cold payload: started by init right before its execve (CLONE_VM|CLONE_VFORK, see below).
[[noreturn]] void RunPayload(const PreparedRun& run, const PayloadSpec& spec, const ChildChannels& ch, const sigset_t& old_mask) {
  int err = ch.error_write;
  TraceStep(run, "payload forked");
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
  TraceStep(run, "listener hand-over; execve");
  ExecPayload(err, spec.argv, spec.envp, spec.exec, spec.execc);
}

// A request as decoded in place (in a buffer from MapRequestBuffer: kMaxRequestBytes plus room for
// the pointer arrays) and its descriptors, each moved above fd 10 so a later dup2 onto 0-2 cannot
// clobber one.
struct ReceivedRequest {
  int fds[pool::kMaxRequestFds] = {-1, -1, -1, -1, -1, -1};
  size_t nfds = 0;
  pool::DecodedRequest req;
};

char* MapRequestBuffer() {
  const size_t bytes = pool::kMaxRequestBytes + (pool::kMaxStrings + 2) * sizeof(char*);
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return mem == MAP_FAILED ? nullptr : static_cast<char*>(mem);
}

// Receives and validates one request message; false on EOF or anything malformed.
bool ReceiveRequestInChild(int sock, char* buf, ReceivedRequest* out) {
  int fds[pool::kMaxRequestFds];
  size_t nfds = 0;
  bool truncated = false;
  ssize_t n = ReceiveWithFds(sock, buf, pool::kMaxRequestBytes, fds, pool::kMaxRequestFds, &nfds, &truncated);
  for (size_t i = 0; i < nfds; ++i) {
    out->fds[out->nfds++] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
    ::close(fds[i]);
  }
  if (n <= 0 || truncated) return false;
  char** ptrs = reinterpret_cast<char**>(buf + pool::kMaxRequestBytes);
  if (!pool::DecodeRequestInPlace(buf, static_cast<size_t>(n), ptrs, pool::kMaxStrings + 2, &out->req)) return false;
  if (out->nfds != out->req.nfds) return false;
  for (size_t i = 0; i < out->nfds; ++i)
    if (out->fds[i] < 0) return false;
  return true;
}

// Warm payload: forked by init while the sandbox is prepared; locks itself down completely (seccomp
// included) and waits for the pool to hand it a client's connection on `from_pool`. It then reads
// the client's request itself (the pool consumed only the hello), gives init the status pipe, the
// client its seccomp listener, and execs: the launch path is pool -> payload, nothing in between.
[[noreturn]] void RunWarmPayload(const PreparedRun& run, int pool_err, int link, int from_pool, const sigset_t& old_mask) {
  TraceStep(run, "warm payload forked");
  char* buf = MapRequestBuffer();  // mapped before seccomp: the payload's filter need not allow mmap
  if (buf == nullptr) ChildFail(pool_err, "map request buffer", "", errno);
  int keep[3] = {pool_err, link, from_pool};
  // The listener stays here until the client's notify socket arrives; it is close-on-exec, so the
  // program exec'd below never holds it.
  int listener = LockDownPayloadInChild(run, pool_err, keep, 3, old_mask);
  char ready = 'P';
  if (::write(link, &ready, 1) != 1) ChildFail(pool_err, "report ready", "", errno);

  int client = ReceiveFd(from_pool);
  if (client < 0) _exit(kChildSetupExit);  // the pool closed us down
  TraceStep(run, "warm payload: client handed over");
  struct pollfd p = {client, POLLIN, 0};
  if (::poll(&p, 1, 10000) != 1) _exit(kChildSetupExit);
  ReceivedRequest rr;
  if (!ReceiveRequestInChild(client, buf, &rr)) {
    if (rr.nfds > pool::kFdError && rr.fds[pool::kFdError] >= 0) {
      ChildFail(rr.fds[pool::kFdError], "warm sandbox request", "malformed", EPROTO);
    }
    _exit(kChildSetupExit);
  }
  const int err = rr.fds[pool::kFdError];
  if (listener >= 0) {
    if (rr.nfds <= pool::kFdNotify) ChildFail(err, "warm sandbox request", "no seccomp listener channel", EPROTO);
    if (int s = SendFd(rr.fds[pool::kFdNotify], listener); s != 0) ChildFail(err, "send seccomp listener", "", -s);
  }
  // init reports the end to the client's status pipe.
  if (int s = SendFd(link, rr.fds[pool::kFdStatus]); s != 0) ChildFail(err, "pass the status pipe to init", "", -s);
  for (int i = 0; i < 3; ++i) {
    if (::dup2(rr.fds[i], i) != i) ChildFail(err, "client stdio", "", errno);
  }
  ::umask(static_cast<mode_t>(rr.req.umask));
  int keep_err[1] = {err};
  CloseFdsExcept(keep_err, 1);
  TraceStep(run, "warm payload: request received; execve");
  ExecPayload(err, rr.req.argv, rr.req.envp, rr.req.exec, rr.req.execc);
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

// The status record for the client: wait status plus what every reaped process used.
void WriteStatusRecord(int fd, int status) {
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

[[noreturn]] void ExitLikePayload(int status) {
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  _exit(128 + WTERMSIG(status));
}

// init of a warm sandbox: fork the payload now and let it lock itself down, tell the pool we are
// ready, take the client's connection (the pool gives the payload its own copy), then wait for the
// payload to pass on the client's status pipe. Returns the payload's pid; *client_out is the connection.
pid_t StartWarmPayloadInChild(const PreparedRun& run, ChildChannels& ch, const sigset_t& old_mask, int* client_out) {
  const int pool_err = ch.error_write;
  int link[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, link) != 0) ChildFail(pool_err, "socketpair", "", errno);
  pid_t payload = kernel::CloneForkLike(0, nullptr);
  if (payload < 0) ChildFail(pool_err, "start payload", "", errno);
  if (payload == 0) {
    ::close(link[0]);
    ::close(ch.pool_ctl);
    RunWarmPayload(run, pool_err, link[1], ch.pool_payload, old_mask);
  }
  ::close(link[1]);
  ::close(ch.pool_payload);
  ch.pool_payload = -1;
  char byte = 0;
  if (::read(link[0], &byte, 1) != 1 || byte != 'P') _exit(kChildSetupExit);  // it failed and told the pool
  TraceStep(run, "warm: payload locked down");

  char ready = 'R';
  if (::write(ch.pool_ctl, &ready, 1) != 1) _exit(kChildSetupExit);
  int client = ReceiveFd(ch.pool_ctl);  // blocks until the pool hands us a client
  if (client < 0) _exit(kChildSetupExit);  // the pool closed us down
  ::close(ch.pool_ctl);
  ch.pool_ctl = -1;
  // From here on the client's connection, not the pool, decides how long we live.
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  ::close(pool_err);
  ch.error_write = -1;
  int status_fd = ReceiveFd(link[0]);
  ::close(link[0]);
  if (status_fd < 0) {
    // The payload died before it could take the request (it told the client's error pipe if it
    // had one): end the sandbox; the client sees our connection close.
    ::kill(payload, SIGKILL);
    ::waitpid(payload, nullptr, 0);
    _exit(kChildSetupExit);
  }
  ch.status_write = status_fd;
  TraceStep(run, "warm: payload took the request");
  *client_out = client;
  return payload;
}

// init of a warm sandbox after the payload started: like the cold loop, plus the client's connection
// (forwarded signals; a hang-up means the client died). Before reporting, init kills and reaps every
// other process of the sandbox, so the client's answer means "nothing of this sandbox runs any more".
[[noreturn]] void SuperviseWarmInChild(const PreparedRun& run, pid_t payload, int client, const sigset_t& waited,
                                       const ChildChannels& ch) {
  const bool own_pidns = (run.clone_flags & CLONE_NEWPID) != 0;
  auto kill_all = [&]() {
    // kill(-1) in our own pid namespace reaches exactly the sandbox; without one, only the payload.
    if (own_pidns) ::kill(-1, SIGKILL);
    else ::kill(payload, SIGKILL);
  };
  int sfd = ::signalfd(-1, &waited, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    kill_all();
    _exit(kChildSetupExit);
  }
  bool client_open = true;
  for (;;) {
    struct pollfd fds[2] = {{sfd, POLLIN, 0}, {client_open ? client : -1, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents) {
      pool::SignalMessage m;
      ssize_t n = ::recv(client, &m, sizeof m, MSG_DONTWAIT);
      if (n == static_cast<ssize_t>(sizeof m) && m.magic == pool::kSignalMagic && m.signo > 0 && m.signo < 65) {
        ::kill(payload, m.signo);
      } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || (fds[1].revents & (POLLHUP | POLLERR))) {
        client_open = false;
        ::close(client);
        if (run.policy.die_with_parent) kill_all();
      }
    }
    if (fds[0].revents) {
      struct signalfd_siginfo si;
      while (::read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo != SIGCHLD) ::kill(payload, static_cast<int>(si.ssi_signo));
      }
      for (;;) {
        int status = 0;
        pid_t r = ::waitpid(-1, &status, WNOHANG);
        if (r <= 0) break;
        if (r != payload) continue;
        TraceStep(run, "warm: payload ended");
        if (own_pidns) {
          ::kill(-1, SIGKILL);
          while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
          }
        }
        WriteStatusRecord(ch.status_write, status);
        TraceStep(run, "warm: status reported");
        ExitLikePayload(status);
      }
    }
  }
}

}  // namespace

void RunSandboxInitInChild(const PreparedRun& run, const PayloadSpec& cold_spec, const ChildChannels& channels) {
  ChildChannels ch = channels;
  int err = ch.error_write;
  if (run.policy.die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  char go = 0;
  ssize_t n;
  do {
    n = ::read(ch.sync_read, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) _exit(kChildSetupExit);  // the parent died or gave up before releasing us
  TraceStep(run, "released");

  OpenMountSourcesInChild(run.mounts, err);
  TraceStep(run, "opened bind sources");
  if (run.ids.caller_is_root) {
    // Root caller: our host uid 0 is not mapped in the new user namespace, so files we create there
    // would fail with EOVERFLOW. Become the mapped inside identity now, keeping the capabilities the
    // namespace gave us (they are dropped for good in the payload), and drop root's host groups.
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
  if (run.unshare_cgroup && ::unshare(CLONE_NEWCGROUP) != 0) ChildFail(err, "cgroup namespace", "", errno);
  if ((run.clone_flags & CLONE_NEWUTS) && ::sethostname(run.hostname.c_str(), run.hostname.size()) != 0) {
    ChildFail(err, "sethostname", run.hostname.c_str(), errno);
  }
  if (run.net_loopback) {
    if (int rc = BringUpLoopbackInChild(); rc != 0) ChildFail(err, "bring up loopback", "lo", -rc);
  }
  TraceStep(run, "cgroupns, hostname, loopback");
  ApplyMountPlanInChild(run.mounts, err);
  TraceStep(run, "mounts + pivot_root");
  // Nothing in the sandbox may ptrace init or open /proc/1/exe (the airlock binary) or /proc/1/fd.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) ChildFail(err, "set not dumpable", "", errno);
  if (run.unshare_time && ::unshare(CLONE_NEWTIME) != 0) ChildFail(err, "time namespace", "", errno);

  sigset_t all, old;
  sigemptyset(&all);
  sigaddset(&all, SIGCHLD);
  for (int s : kForwarded) sigaddset(&all, s);
  struct sigaction sa {};
  sa.sa_handler = NoopHandler;
  for (int s : kForwarded) ::sigaction(s, &sa, nullptr);
  ::sigaction(SIGCHLD, &sa, nullptr);
  ::sigprocmask(SIG_BLOCK, &all, &old);

  // The payload is started like posix_spawn does it: CLONE_VM|CLONE_VFORK on a stack of its own, so
  // init's address space is not copied (and then thrown away by execve). The payload has its own fd
  // table, fs context, credentials, signal handlers and seccomp/Landlock state; init is suspended
  // until the payload's execve (or exit), so the shared memory is never used by both at once.
  if (ch.pool_ctl >= 0) {
    int client = -1;
    pid_t payload = StartWarmPayloadInChild(run, ch, old, &client);
    SuperviseWarmInChild(run, payload, client, all, ch);
  }
  PayloadStart start{&run, &cold_spec, &ch, &old};
  pid_t payload = ::clone(PayloadEntry, g_payload_stack + sizeof g_payload_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
  if (payload < 0) ChildFail(ch.error_write, "start payload", "", errno);

  // init: from here on only reaping and forwarding.
  ::close(ch.error_write);
  if (ch.notify_write >= 0) ::close(ch.notify_write);
  for (;;) {
    siginfo_t info{};
    int sig = ::sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      ::kill(payload, sig);
      continue;
    }
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(-1, &status, WNOHANG);
      if (r <= 0) break;
      if (r == payload) {
        WriteStatusRecord(ch.status_write, status);
        // Exiting kills every other process of the pid namespace.
        ExitLikePayload(status);
      }
    }
  }
}

}  // namespace airlock
