#include "sandbox/child.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <cerrno>
#include <cstring>

#include "caps/caps.h"
#include "core/log.h"
#include "net/net.h"
#include "process/child_error.h"

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

int SendFd(int sock, int fd) {
  char dummy = 'F';
  struct iovec iov = {&dummy, 1};
  alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return ::sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

[[noreturn]] void RunPayload(const PreparedRun& run, const ChildChannels& ch, const sigset_t& old_mask) {
  int err = ch.error_write;
  TraceStep(run, "payload forked");
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
  int keep[64];
  size_t nkeep = 0;
  for (int fd : run.pass_fds) {
    if (nkeep < 60) keep[nkeep++] = fd;
  }
  keep[nkeep++] = err;
  if (ch.notify_write >= 0) keep[nkeep++] = ch.notify_write;
  // Sort the small keep list (insertion sort, no allocation).
  for (size_t i = 1; i < nkeep; ++i)
    for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; --j) std::swap(keep[j - 1], keep[j]);
  unsigned lo = 3;
  for (size_t i = 0; i < nkeep; ++i) {
    if (static_cast<unsigned>(keep[i]) > lo) ::close_range(lo, static_cast<unsigned>(keep[i]) - 1, 0);
    lo = static_cast<unsigned>(keep[i]) + 1;
  }
  ::close_range(lo, ~0U, 0);
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
  if (run.seccomp) {
    int rc = InstallSeccompInChild(*run.seccomp);
    if (rc < 0) ChildFail(err, "seccomp", "", -rc);
    if (run.seccomp->uses_user_notif) {
      if (int s = SendFd(ch.notify_write, rc); s != 0) ChildFail(err, "send seccomp listener", "", -s);
      ::close(rc);
    }
  }
  if (ch.notify_write >= 0) ::close(ch.notify_write);
  TraceStep(run, "seccomp + listener hand-over; execve");

  int last_err = ENOENT;
  for (const std::string& path : run.exec_candidates) {
    ::execve(path.c_str(), run.argv.data(), run.envp.data());
    if (errno != ENOENT && errno != ENOTDIR) last_err = errno;
    if (last_err != ENOENT) break;
  }
  ChildFail(err, "exec", run.argv[0], last_err);
}

struct PayloadStart {
  const PreparedRun* run;
  const ChildChannels* ch;
  const sigset_t* old_mask;
};

// The payload's stack until execve (it runs in init's address space, see RunSandboxInitInChild).
alignas(64) char g_payload_stack[256 * 1024];

int PayloadEntry(void* arg) {
  auto* s = static_cast<PayloadStart*>(arg);
  RunPayload(*s->run, *s->ch, *s->old_mask);
}

}  // namespace

void RunSandboxInitInChild(const PreparedRun& run, const ChildChannels& ch) {
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
  PayloadStart start{&run, &ch, &old};
  pid_t payload = ::clone(PayloadEntry, g_payload_stack + sizeof g_payload_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &start);
  if (payload < 0) ChildFail(err, "start payload", "", errno);

  // init: from here on only reaping and forwarding.
  ::close(err);
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
        int32_t raw = status;
        ssize_t w = ::write(ch.status_write, &raw, sizeof raw);
        (void)w;
        // Exiting kills every other process of the pid namespace.
        if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
        _exit(128 + WTERMSIG(status));
      }
    }
  }
}

}  // namespace airlock
