// airlock exec ID|NAME [--cwd DIR] -- CMD [ARGS...]: start CMD inside a running sandbox with its first
// payload's policy (docs/ARCHITECTURE.md, "airlock exec"). The request goes to the run's control
// socket (sandbox/control.h) with our stdio (or, when one of them is a terminal, a pseudo-terminal of
// the exec's own whose master we relay, as `airlock run` does), an error pipe and a status socket
// (sandbox/exec_wire.h); we then wait like `airlock run`: forwarded signals go to the exec'd process
// (its pidfd), and we exit with its status (128+N when killed by signal N).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/running.h"
#include "core/fd_passing.h"
#include "core/log.h"
#include "core/unique_fd.h"
#include "kernel/syscalls.h"
#include "process/child_error.h"
#include "sandbox/child.h"
#include "sandbox/classify.h"
#include "sandbox/control.h"
#include "sandbox/exec_wire.h"
#include "sandbox/outcome.h"
#include "sandbox/signals.h"
#include "tty/pty_relay.h"

extern char** environ;

namespace airlock::cli {
namespace {

struct ExecArgs {
  std::string which;
  std::string cwd;
  bool all = false;
  std::vector<std::string> command;
};

// What comes back from the sandbox while the command runs.
struct ExecEnd {
  std::optional<ChildErrorRecord> error;
  std::optional<StatusRecord> status;
};

// The request: argv, our whole environment (the supervisor applies the run's allow-list), cwd, umask,
// which stdio is the exec's terminal.
Result<std::string> EncodeRequest(const ExecArgs& a, const PtyRelay* tty) {
  ExecMessage m;
  m.argv = a.command;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) m.env.emplace_back(*e);
  m.cwd = a.cwd;
  const mode_t um = ::umask(0);
  ::umask(um);
  m.umask = static_cast<int>(um & 0777);
  m.terminal = tty != nullptr ? StdioTerminalMask(tty->stdio()) : 0;
  std::string msg = EncodeExec(kExecClientMagic, m);
  if (msg.size() > kMaxExecMessage || m.argv.size() + m.env.size() > kMaxExecStrings) {
    return MakeError(fmt::format("the command and the environment take {} bytes in {} strings; airlock exec takes at most {} "
                                 "bytes and {} strings (pass fewer arguments, or start it with a smaller environment: env -i)",
                                 msg.size(), m.argv.size() + m.env.size(), kMaxExecMessage, kMaxExecStrings));
  }
  return msg;
}

// Sends the request with our descriptors; "ok" or why not.
Status SendRequest(const RunningRecord& r, const std::string& msg, const PtyRelay* tty, int err_w, int status_w) {
  UniqueFd null_fd;
  int fds[kExecClientFds] = {0, 1, 2, err_w, status_w};
  const StdioTerminal t = tty != nullptr ? tty->stdio() : StdioTerminal{};
  for (int i = 0; i < 3; ++i) {
    if (t.slave >= 0 && t.replace[i]) {
      fds[i] = t.slave;
    } else if (::fcntl(i, F_GETFD) < 0) {  // a closed stdio descriptor is /dev/null inside
      if (!null_fd) null_fd.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
      fds[i] = null_fd.get();
    }
  }
  auto answer = CallControl(ControlSocketPath(r), msg, 5000, fds, kExecClientFds);
  if (!answer) {
    return MakeError(fmt::format("sandbox '{}' did not take the request ({}); it may have ended: `airlock ps` lists the running ones",
                                 r.id, answer.error().What()));
  }
  if (*answer != "ok") return MakeError(fmt::format("sandbox '{}': {}", r.id, *answer));
  return Ok();
}

// One message on the status socket: the pidfd (1 byte + descriptor) or the StatusRecord. False at EOF.
bool ReadStatus(int sock, UniqueFd* pidfd, ExecEnd* end) {
  alignas(StatusRecord) char buf[sizeof(StatusRecord)];
  int fds[2];
  size_t n = 0;
  bool truncated = false;
  ssize_t k = ReceiveWithFds(sock, buf, sizeof buf, fds, 2, &n, &truncated, MSG_DONTWAIT);
  for (size_t i = 0; i < n; ++i) {
    if (k == 1 && i == 0 && !*pidfd) pidfd->reset(fds[i]);
    else ::close(fds[i]);
  }
  if (k < 0 && (k == -EAGAIN || k == -EINTR)) return true;
  if (k == static_cast<ssize_t>(sizeof(StatusRecord))) {
    StatusRecord rec;
    std::memcpy(&rec, buf, sizeof rec);
    end->status = rec;
    return false;
  }
  return k > 0;
}

// Waits for the end: signals forwarded to the exec'd process, window changes to its terminal.
ExecEnd Wait(int sigfd, int err_r, int status_r, PtyRelay* tty) {
  ExecEnd end;
  UniqueFd pidfd;
  UniqueFd err(err_r);
  bool status_open = true;
  while (status_open) {
    struct pollfd fds[3] = {{sigfd, POLLIN, 0}, {status_r, POLLIN, 0}, {err.get(), POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) continue;
    if (fds[0].revents) {
      struct signalfd_siginfo si;
      while (::read(sigfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGWINCH && tty != nullptr) tty->OnWindowChange();
        else if (pidfd) kernel::PidfdSendSignal(pidfd.get(), static_cast<int>(si.ssi_signo));
      }
    }
    if (fds[2].revents) {
      ChildErrorRecord rec{};
      if (::read(err.get(), &rec, sizeof rec) == static_cast<ssize_t>(sizeof rec) && !end.error) end.error = rec;
      else err.reset();
    }
    if (fds[1].revents) status_open = ReadStatus(status_r, &pidfd, &end);
  }
  // A setup failure is written before the process exits, so it is in the pipe by now.
  ChildErrorRecord rec{};
  if (err && !end.error && ::read(err.get(), &rec, sizeof rec) == static_cast<ssize_t>(sizeof rec)) end.error = rec;
  return end;
}

int ExitCodeOf(const ExecArgs& a, const ExecEnd& end) {
  if (end.error) {
    int code = kExitSetup;
    std::string msg = DescribeChildError(*end.error, true, &code);
    LogError("exec in '{}': {}", a.which, msg);
    return code;
  }
  if (!end.status) {
    LogError("exec in '{}': the sandbox ended while {} ran (it was killed with it)", a.which, a.command[0]);
    return 128 + SIGKILL;
  }
  const int s = end.status->raw_status;
  return WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s);
}

std::optional<int> ParseExecArgs(int argc, char** argv, ExecArgs* a) {
  int split = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      split = i;
      break;
    }
  }
  for (int i = split + 1; i < argc; ++i) a->command.emplace_back(argv[i]);
  CLI::App app{"Run a command inside a running sandbox (`airlock ps` lists them) with its first program's policy:\n"
               "the same namespaces, cgroup and limits, seccomp filter, Landlock ruleset, user and environment rules,\n"
               "no capabilities. stdio is passed through (a terminal gets a pseudo-terminal of its own, relayed).\n"
               "Exit status: the command's (128+N if killed by signal N); 125 when it could not be started (unknown or\n"
               "ended sandbox, setup failure), 126 not executable, 127 not found inside the sandbox, 137 when the\n"
               "sandbox ended while it ran.",
               "airlock exec"};
  app.add_option("sandbox", a->which, "ID or NAME (from `airlock ps`), then -- and the command")->required();
  app.add_option("--cwd", a->cwd, "working directory inside the sandbox (absolute; default: the sandbox's)");
  app.add_flag("-a,--all", a->all, "root: look among every user's sandboxes");
  if (auto rc = ParseCommandLine(app, split, argv)) return *rc;
  if (a->command.empty()) {
    LogError("airlock exec: no command: airlock exec {} -- CMD [ARGS...]", a->which);
    return kExitUsage;
  }
  if (!a->cwd.empty() && a->cwd[0] != '/') {
    LogError("airlock exec: --cwd {}: give an absolute path inside the sandbox", a->cwd);
    return kExitUsage;
  }
  if (a->all && ::geteuid() != 0) {
    LogError("--all needs root: a user reaches only their own sandboxes");
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace

int ExecCommand(int argc, char** argv) {
  ExecArgs a;
  if (auto rc = ParseExecArgs(argc, argv, &a)) return *rc;
  auto r = FindRunning(a.which, a.all);
  if (!r) {
    LogError("{}", r.error().What());
    return kExitSetup;
  }
  auto relay = PtyRelay::OpenFromParent();  // our own pty when stdio is a terminal (the run's rule)
  if (!relay) {
    LogError("{}", relay.error().What());
    return kExitSetup;
  }
  PtyRelay* tty = relay->get();
  auto msg = EncodeRequest(a, tty);
  if (!msg) {
    LogError("airlock exec: {}", msg.error().What());
    return kExitUsage;
  }
  int errp[2], sv[2];
  if (::pipe2(errp, O_CLOEXEC) != 0 || ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    LogError("airlock exec: {}", std::strerror(errno));
    return kExitSetup;
  }
  UniqueFd err_r(errp[0]), err_w(errp[1]), status_r(sv[0]), status_w(sv[1]);
  // Forwarded signals blocked before the request leaves, read from a signalfd (none is lost).
  sigset_t forwarded, old;
  sigemptyset(&forwarded);
  AddForwardedSignals(&forwarded, /*by_init=*/false);
  ::sigprocmask(SIG_BLOCK, &forwarded, &old);
  UniqueFd sigfd(::signalfd(-1, &forwarded, SFD_CLOEXEC | SFD_NONBLOCK));
  if (Status st = SendRequest(*r, *msg, tty, err_w.get(), status_w.get()); !st) {
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    LogError("airlock exec: {}", st.error().What());
    return kExitSetup;
  }
  err_w.reset();
  status_w.reset();
  if (tty != nullptr) {
    tty->ReleaseSlave();
    if (Status st = tty->Start(); !st) LogWarning("{}", st.error().What());
  }
  ExecEnd end = Wait(sigfd.get(), err_r.release(), status_r.get(), tty);
  if (tty != nullptr) tty->Finish();
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  return ExitCodeOf(a, end);
}

}  // namespace airlock::cli
