// `airlock run` in a warm sandbox (pool.h): ask the pool, send the request, then supervise exactly as a
// cold run does (same pipes, same records), with the connection to init standing in for the pidfd.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/fd_passing.h"
#include "core/log.h"
#include "core/unique_fd.h"
#include "pool/pool.h"
#include "pool/pool_wire.h"
#include "process/child_error.h"
#include "sandbox/child.h"
#include "sandbox/classify.h"
#include "sandbox/sandbox.h"
#include "seccomp/notify.h"
#include "seccomp/program_cache.h"
#include "userns/userns.h"

namespace airlock::pool {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

constexpr int kForwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};

UniqueFd Connect(const std::string& path, std::string* why_not) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    *why_not = "pool socket path too long";
    return {};
  }
  UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (!s || ::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *why_not = fmt::format("no pool at {} ({})", path, std::strerror(errno));
    return {};
  }
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(s.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != geteuid()) {
    *why_not = fmt::format("the pool at {} runs as uid {}, not as us (uid {}): not used", path, cred.uid, geteuid());
    return {};
  }
  return s;
}

bool SendRequest(int sock, const std::string& req, const int* fds, size_t nfds) {
  return SendWithFds(sock, req.data(), req.size(), fds, nfds) == static_cast<ssize_t>(req.size());
}

// Reads the pool's answer. A pool that declines closes with our request unread: the kernel reports
// that reset before the answer still queued for us, so one reset is read past.
ssize_t RecvAnswer(int sock, char* buf, size_t len) {
  ssize_t k = ::recv(sock, buf, len, MSG_DONTWAIT);
  if (k < 0 && errno == ECONNRESET) k = ::recv(sock, buf, len, MSG_DONTWAIT);
  return k;
}

void SendSignal(int sock, int sig) {
  SignalMessage m;
  m.signo = sig;
  ssize_t n = ::send(sock, &m, sizeof m, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)n;
}

}  // namespace

std::optional<Result<RunOutcome>> RunWarm(const Policy& policy, const std::vector<std::string>& cmd, const RunOptions& options,
                                          const std::string& socket, const std::string& key, std::string* why_not) {
  auto t0 = Clock::now();
  // AIRLOCK_TRACE_SETUP=1: per-step timings, like the cold path's.
  const char* trace = std::getenv("AIRLOCK_TRACE_SETUP");
  const bool tracing = trace != nullptr && trace[0] == '1';
  auto mark = [&](const char* step) {
    if (tracing) fmt::print(stderr, "airlock: warm +{}us {}\n", static_cast<long>(MsSince(t0) * 1000), step);
  };
  if (cmd.empty()) return std::nullopt;
  if (std::string why = WarmIneligibility(policy, options); !why.empty()) {
    *why_not = why;
    return std::nullopt;
  }
  UniqueFd sock = Connect(socket, why_not);
  if (!sock) return std::nullopt;
  mark("connected");

  auto ids = PlanIdMapping(policy.identity);
  if (!ids) {
    *why_not = ids.error().What();
    return std::nullopt;
  }
  std::vector<std::string> env = BuildEnvironment(policy, *ids);
  std::vector<std::string> exec = ExecCandidates(cmd[0], env);
  mode_t um = ::umask(0);
  ::umask(um);
  std::string request = EncodeRequest(cmd, env, exec, static_cast<int>(um), true);
  if (request.size() > kMaxRequestBytes) {
    *why_not = fmt::format("arguments and environment ({} bytes) exceed a warm sandbox's request limit", request.size());
    return std::nullopt;
  }
  mark("environment, request encoded");

  RunOutcome outcome;
  outcome.launch = "warm";
  int errp[2], statusp[2], nsock[2];
  if (::pipe2(errp, O_CLOEXEC) != 0) return std::unexpected(Error("pipe2", errno));
  UniqueFd err_r(errp[0]), err_w(errp[1]);
  if (::pipe2(statusp, O_CLOEXEC) != 0) return std::unexpected(Error("pipe2", errno));
  UniqueFd status_r(statusp[0]), status_w(statusp[1]);
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, nsock) != 0) return std::unexpected(Error("socketpair", errno));
  UniqueFd notify_ours(nsock[0]), notify_theirs(nsock[1]);
  // A closed stdio descriptor of ours is /dev/null in the sandbox (SCM_RIGHTS cannot send a hole).
  UniqueFd null_fd;
  int fds[kMaxRequestFds] = {0, 1, 2, err_w.get(), status_w.get(), notify_theirs.get()};
  for (int i = 0; i < 3; ++i) {
    if (::fcntl(i, F_GETFD) < 0) {
      if (!null_fd) null_fd.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
      fds[i] = null_fd.get();
    }
  }
  sigset_t fwd, old_mask;
  sigemptyset(&fwd);
  for (int s : kForwarded) sigaddset(&fwd, s);
  ::sigprocmask(SIG_BLOCK, &fwd, &old_mask);
  UniqueFd sigfd(::signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK));

  // Hello and request back to back, no round trip: the pool reads only the hello (one message) and,
  // if it serves us, hands the connection to a sandbox whose payload reads the request itself. The
  // pool's answer ('Y' + what the sandbox enforces, or 'N' + why not) is read below.
  std::string hello = std::string(kHello) + key;
  if (::send(sock.get(), hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size()) ||
      !SendRequest(sock.get(), request, fds, kFdNotify + 1)) {
    // The request did not get through: nothing runs it. A pool that declined fast has closed already;
    // its answer says why.
    *why_not = fmt::format("pool at {}: {}", socket, std::strerror(errno));
    struct pollfd pa = {sock.get(), POLLIN, 0};
    if (::poll(&pa, 1, 2000) == 1) {
      char buf[4096];
      ssize_t k = RecvAnswer(sock.get(), buf, sizeof buf);
      if (k > 1 && buf[0] == 'N') *why_not = std::string(buf + 1, static_cast<size_t>(k - 1));
    }
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    return std::nullopt;
  }
  err_w.reset();
  status_w.reset();
  notify_theirs.reset();
  null_fd.reset();
  mark("request sent");

  // Supervise (like sandbox.cc step 6, minus cgroup, network and monitor, which never run warm).
  std::thread supervisor;
  Result<NotifyStats> notify_stats = NotifyStats{};
  std::map<std::string, uint64_t> observed;
  UniqueFd listener;
  UniqueFd stop_supervisor(::eventfd(0, EFD_CLOEXEC));
  std::optional<ChildErrorRecord> child_error;
  std::optional<StatusRecord> status;
  bool timed_out = false;
  const auto timeout = policy.limits.timeout;
  const Clock::time_point deadline = Clock::now() + timeout.value_or(std::chrono::milliseconds(0));
  bool ended = false;
  bool answered = false;
  std::string answer;
  const Clock::time_point answer_deadline = Clock::now() + std::chrono::seconds(2);
  while (!ended) {
    struct pollfd p[6];
    int np = 0;
    p[np++] = {sock.get(), POLLIN, 0};
    int i_err = -1, i_status = -1, i_sig = -1, i_notify = -1, i_listener = -1;
    // The supervisor thread starts only when a first notification is pending: most runs never
    // trigger one, and a thread is not free on the launch path.
    if (listener && !supervisor.joinable()) { i_listener = np; p[np++] = {listener.get(), POLLIN, 0}; }
    if (err_r) { i_err = np; p[np++] = {err_r.get(), POLLIN, 0}; }
    if (status_r) { i_status = np; p[np++] = {status_r.get(), POLLIN, 0}; }
    if (sigfd) { i_sig = np; p[np++] = {sigfd.get(), POLLIN, 0}; }
    if (notify_ours) { i_notify = np; p[np++] = {notify_ours.get(), POLLIN, 0}; }
    int wait_ms = -1;
    if (timeout && !timed_out) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      wait_ms = left < 0 ? 0 : static_cast<int>(left);
    }
    if (!answered) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(answer_deadline - Clock::now()).count();
      if (left <= 0) {
        // No answer: the request may still reach a sandbox, so running cold now could run the command
        // twice. Fail instead.
        ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        return std::unexpected(Error(fmt::format("the pool at {} did not answer within 2 s", socket)));
      }
      wait_ms = wait_ms < 0 ? static_cast<int>(left) : std::min(wait_ms, static_cast<int>(left));
    }
    int r = ::poll(p, static_cast<nfds_t>(np), wait_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;  // closing the connection below makes init kill the sandbox
    }
    if (r == 0 && timeout && !timed_out && Clock::now() >= deadline) {
      timed_out = true;
      SendSignal(sock.get(), SIGKILL);  // init kills the payload, then everything else, then reports
      continue;
    }
    if (i_err >= 0 && p[i_err].revents) {
      ChildErrorRecord rec{};
      ssize_t k = ::read(err_r.get(), &rec, sizeof rec);
      if (k == static_cast<ssize_t>(sizeof rec) && !child_error) child_error = rec;
      if (k <= 0) err_r.reset();
    }
    if (i_status >= 0 && p[i_status].revents) {
      StatusRecord rec;
      ssize_t k = ::read(status_r.get(), &rec, sizeof rec);
      if (k == static_cast<ssize_t>(sizeof rec)) {
        // init reports only after it killed and reaped everything else in the sandbox: done. (Its own
        // exit, the namespaces' teardown, need not hold us up.)
        status = rec;
        ended = true;
        mark("status received");
      }
      if (k <= 0) status_r.reset();
    }
    if (i_sig >= 0 && p[i_sig].revents) {
      struct signalfd_siginfo si;
      while (::read(sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        SendSignal(sock.get(), static_cast<int>(si.ssi_signo));
      }
    }
    if (i_notify >= 0 && p[i_notify].revents) {
      int fd = ReceiveFd(notify_ours.get());
      notify_ours.reset();
      if (fd >= 0) listener.reset(fd);
    }
    if (i_listener >= 0 && p[i_listener].revents) {
      if (p[i_listener].revents & POLLIN) {
        supervisor = std::thread([&]() {
          RunOptions none;
          auto eff = EffectiveRunOptions(policy, none);
          SeccompCompileOptions so;
          if (eff) so.notify_syscalls = eff->notify_syscalls;
          auto prog = CompileSeccompCached(policy.seccomp, so);
          if (!prog) {
            notify_stats = std::unexpected(prog.error());
            return;
          }
          auto hook = [&observed](const NotifyEvent& ev) {
            CountFilelessExecution(ev, observed);
            return NotifyAnswer{};
          };
          notify_stats = RunNotifySupervisor(listener.get(), *prog, stop_supervisor.get(), hook);
        });
      } else {
        listener.reset();  // every filtered process is gone and none was ever notified
      }
    }
    // The pool's answer, then nothing until init exits (EOF or hang-up ends the run).
    if (p[0].revents) {
      std::string buf(64 * 1024, '\0');
      ssize_t k = answered ? ::recv(sock.get(), buf.data(), buf.size(), MSG_DONTWAIT) : RecvAnswer(sock.get(), buf.data(), buf.size());
      if (k > 0 && !answered) {
        answered = true;
        answer.assign(buf.data(), static_cast<size_t>(k));
        mark("pool answered");
        if (answer[0] != 'Y') {
          // Declined before any sandbox saw the request: run cold.
          ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
          *why_not = answer.substr(1);
          return std::nullopt;
        }
      } else if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
        if (!answered) {
          ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
          *why_not = fmt::format("the pool at {} closed the connection", socket);
          return std::nullopt;
        }
        ended = true;
      }
    }
  }
  mark("sandbox ended");
  sock.reset();
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  if (err_r && !child_error) {
    ChildErrorRecord rec{};
    if (::read(err_r.get(), &rec, sizeof rec) == static_cast<ssize_t>(sizeof rec)) child_error = rec;
  }
  if (status_r && !status) {
    StatusRecord rec;
    if (::read(status_r.get(), &rec, sizeof rec) == static_cast<ssize_t>(sizeof rec)) status = rec;
  }
  FinishNotifySupervisor(supervisor, stop_supervisor.get(), observed, notify_stats, &outcome);
  mark("supervisor joined");
  nlohmann::json info = nlohmann::json::parse(answer.empty() ? std::string("{}") : answer.substr(1), nullptr, false);
  if (!info.is_object()) info = nlohmann::json::object();
  outcome.warm_age_ms = info.value("age_ms", 0.0);
  std::vector<LayerStatus> layers;
  for (const auto& l : info.value("layers", nlohmann::json::array())) {
    layers.push_back({l.value("name", ""), l.value("engaged", false), l.value("detail", "")});
  }
  layers.push_back({"warm-launch", true, fmt::format("prepared by pool {} {:.0f} ms before", info.value("pool_pid", 0),
                                                     outcome.warm_age_ms)});
  outcome.layers = std::move(layers);
  for (const auto& n : info.value("not_enforced", std::vector<std::string>{})) outcome.not_enforced.push_back(n);
  outcome.weakenings = info.value("weakenings", std::vector<std::string>{});
  outcome.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (status) {
    outcome.user_cpu_seconds = static_cast<double>(status->user_us) / 1e6;
    outcome.system_cpu_seconds = static_cast<double>(status->system_us) / 1e6;
    outcome.peak_memory_bytes = static_cast<uint64_t>(status->maxrss_kb) * 1024;
  }
  EndState end;
  end.child_error = child_error;
  end.timed_out = timed_out;
  end.timeout = timeout;
  if (status) end.payload_status = status->raw_status;
  end.init_status = SIGKILL;  // we cannot wait for init: no report from it means it was killed
  end.has_seccomp = policy.seccomp.requirement != Requirement::kDisabled;
  ClassifyOutcome(end, &outcome);
  return outcome;
}

}  // namespace airlock::pool
