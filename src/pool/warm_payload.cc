#include "pool/warm_payload.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/fd_passing.h"
#include "kernel/syscalls.h"
#include "pool/pool_wire.h"
#include "process/child_error.h"
#include "process/close_fds.h"
#include "tty/pty_relay.h"

namespace airlock::pool {
namespace {

// A request as decoded in place (in a buffer from MapRequestBuffer: kMaxRequestBytes plus room for
// the pointer arrays) and its descriptors, each moved above fd 10 so a later dup2 onto 0-2 cannot
// clobber one.
struct ReceivedRequest {
  int fds[kMaxRequestFds] = {-1, -1, -1, -1, -1, -1};
  size_t nfds = 0;
  DecodedRequest req;
};

char* MapRequestBuffer() {
  const size_t bytes = kMaxRequestBytes + (kMaxStrings + 2) * sizeof(char*);
  void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return mem == MAP_FAILED ? nullptr : static_cast<char*>(mem);
}

// Receives and validates one request message; false on EOF or anything malformed.
bool ReceiveRequestInChild(int sock, char* buf, ReceivedRequest* out) {
  int fds[kMaxRequestFds];
  size_t nfds = 0;
  bool truncated = false;
  ssize_t n = ReceiveWithFds(sock, buf, kMaxRequestBytes, fds, kMaxRequestFds, &nfds, &truncated);
  for (size_t i = 0; i < nfds; ++i) {
    out->fds[out->nfds++] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
    ::close(fds[i]);
  }
  if (n <= 0 || truncated) return false;
  char** ptrs = reinterpret_cast<char**>(buf + kMaxRequestBytes);
  if (!DecodeRequestInPlace(buf, static_cast<size_t>(n), ptrs, kMaxStrings + 2, &out->req)) return false;
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
  TraceStepInChild(run, "warm payload forked");
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
  TraceStepInChild(run, "warm payload: client handed over");
  struct pollfd p = {client, POLLIN, 0};
  if (::poll(&p, 1, 10000) != 1) _exit(kChildSetupExit);
  ReceivedRequest rr;
  if (!ReceiveRequestInChild(client, buf, &rr)) {
    if (rr.nfds > kFdError && rr.fds[kFdError] >= 0) {
      ChildFail(rr.fds[kFdError], "warm sandbox request", "malformed", EPROTO);
    }
    _exit(kChildSetupExit);
  }
  const int err = rr.fds[kFdError];
  if (listener >= 0) {
    if (rr.nfds <= kFdNotify) ChildFail(err, "warm sandbox request", "no seccomp listener channel", EPROTO);
    if (int s = SendFd(rr.fds[kFdNotify], listener); s != 0) ChildFail(err, "send seccomp listener", "", -s);
  }
  // init reports the end to the client's status pipe.
  if (int s = SendFd(link, rr.fds[kFdStatus]); s != 0) ChildFail(err, "pass the status pipe to init", "", -s);
  for (int i = 0; i < 3; ++i) {
    if (::dup2(rr.fds[i], i) != i) ChildFail(err, "client stdio", "", errno);
  }
  // The client's private terminal becomes the controlling terminal of the session set up at lock-down.
  if (run.policy.new_session) {
    if (int rc = TakeControllingTerminalInChild(rr.req.terminal); rc != 0) ChildFail(err, "attach the sandbox's terminal", "", -rc);
  }
  ::umask(static_cast<mode_t>(rr.req.umask));
  int keep_err[1] = {err};
  CloseFdsExcept(keep_err, 1);
  TraceStepInChild(run, "warm payload: request received; execve");
  ExecPayloadInChild(err, rr.req.argv, rr.req.envp, rr.req.exec, rr.req.execc);
}

// init of a warm sandbox: fork the payload now and let it lock itself down, tell the pool we are
// ready, take the client's connection (the pool gives the payload its own copy), then wait for the
// payload to pass on the client's status pipe. Returns the payload's pid; *client_out is the connection.
pid_t StartWarmPayloadInChild(const PreparedRun& run, ChildChannels& ch, WarmChannels& wc, const sigset_t& old_mask,
                              int* client_out) {
  const int pool_err = ch.error_write;
  int link[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, link) != 0) ChildFail(pool_err, "socketpair", "", errno);
  pid_t payload = kernel::CloneForkLike(0, nullptr);
  if (payload < 0) ChildFail(pool_err, "start payload", "", errno);
  if (payload == 0) {
    ::close(link[0]);
    ::close(wc.pool_ctl);
    RunWarmPayload(run, pool_err, link[1], wc.pool_payload, old_mask);
  }
  ::close(link[1]);
  ::close(wc.pool_payload);
  wc.pool_payload = -1;
  char byte = 0;
  if (::read(link[0], &byte, 1) != 1 || byte != 'P') _exit(kChildSetupExit);  // it failed and told the pool
  TraceStepInChild(run, "warm: payload locked down");

  char ready = 'R';
  if (::write(wc.pool_ctl, &ready, 1) != 1) _exit(kChildSetupExit);
  int client = ReceiveFd(wc.pool_ctl);  // blocks until the pool hands us a client
  if (client < 0) _exit(kChildSetupExit);  // the pool closed us down
  ::close(wc.pool_ctl);
  wc.pool_ctl = -1;
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
  TraceStepInChild(run, "warm: payload took the request");
  *client_out = client;
  return payload;
}

// init of a warm sandbox after the payload started: like the cold loop, plus the client's connection
// (forwarded signals, `airlock exec` requests its supervisor forwards: child.h; a hang-up means the
// client died). Before reporting, init kills and reaps every
// other process of the sandbox, so the client's answer means "nothing of this sandbox runs any more".
[[noreturn]] void SuperviseWarmInChild(const PreparedRun& run, pid_t payload, int client, const sigset_t& waited,
                                       const sigset_t& old_mask, const ChildChannels& ch) {
  ExecChildren execs;
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
      // A SignalMessage, or an `airlock exec` request forwarded by the client's supervisor (child.h).
      char* msg = nullptr;
      int rfds[kMaxPassedFds];
      size_t nfds = 0;
      ssize_t n = ReceiveExecChannelInInit(client, &msg, rfds, &nfds);
      SignalMessage m;
      if (n == static_cast<ssize_t>(sizeof m)) std::memcpy(&m, msg, sizeof m);
      if (n == static_cast<ssize_t>(sizeof m) && m.magic == kSignalMagic && m.signo > 0 && m.signo < 65) {
        ::kill(payload, m.signo);
        for (size_t i = 0; i < nfds; ++i) ::close(rfds[i]);
      } else if (n > 0) {
        StartExecInInit(run, msg, static_cast<size_t>(n), rfds, nfds, old_mask, &execs);
      } else if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR && n != -EMSGSIZE) || (fds[1].revents & (POLLHUP | POLLERR))) {
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
        struct rusage ru {};
        pid_t r = ::wait4(-1, &status, WNOHANG, &ru);
        if (r <= 0) break;
        if (r != payload) {
          ReportExecEndInInit(&execs, r, status, ru);
          continue;
        }
        TraceStepInChild(run, "warm: payload ended");
        if (own_pidns) {
          ::kill(-1, SIGKILL);
          while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
          }
        }
        WriteStatusRecordInChild(ch.status_write, status);
        TraceStepInChild(run, "warm: status reported");
        ExitLikePayloadInChild(status);
      }
    }
  }
}

}  // namespace

void StartWarmSandboxInInit(const PreparedRun& run, ChildChannels& ch, const sigset_t& old_mask, const sigset_t& waited,
                            void* arg) {
  WarmChannels& wc = *static_cast<WarmChannels*>(arg);
  int client = -1;
  pid_t payload = StartWarmPayloadInChild(run, ch, wc, old_mask, &client);
  SuperviseWarmInChild(run, payload, client, waited, old_mask, ch);
}

}  // namespace airlock::pool
