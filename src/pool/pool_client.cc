// `airlock run` in a warm sandbox (pool.h): ask the pool, send the request (the warm launcher), then
// supervise with the cold run's Supervisor (sandbox/supervisor.h): same pipes, same records, with the
// connection to init (InitConnection) standing in for the pidfd.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.h"
#include "core/fd_passing.h"
#include "core/log.h"
#include "core/unique_fd.h"
#include "pool/pool.h"
#include "pool/pool_wire.h"
#include "runapi/run_report.h"
#include "sandbox/child.h"
#include "sandbox/classify.h"
#include "sandbox/sandbox.h"
#include "sandbox/supervisor.h"
#include "seccomp/program_cache.h"
#include "tty/pty_relay.h"
#include "userns/userns.h"

namespace airlock::pool {
namespace {

using Clock = std::chrono::steady_clock;
namespace f = runapi::report_field;

double MsSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

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

// The same, with the descriptors that come with a 'Y' (the sandbox's cgroup leases) into *fds.
ssize_t RecvAnswer(int sock, char* buf, size_t len, std::vector<UniqueFd>* fds) {
  int raw[kMaxPassedFds];
  size_t n = 0;
  bool truncated = false;
  ssize_t k = ReceiveWithFds(sock, buf, len, raw, kMaxPassedFds, &n, &truncated, MSG_DONTWAIT);
  if (k == -ECONNRESET) k = ReceiveWithFds(sock, buf, len, raw, kMaxPassedFds, &n, &truncated, MSG_DONTWAIT);
  for (size_t i = 0; i < n; ++i) fds->emplace_back(raw[i]);
  if (k < 0) {
    errno = static_cast<int>(-k);
    return -1;
  }
  return k;
}

void SendSignal(int sock, int sig) {
  SignalMessage m;
  m.signo = sig;
  ssize_t n = ::send(sock, &m, sizeof m, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)n;
}

// AIRLOCK_TRACE_SETUP=1: per-step timings, like the cold path's.
class WarmTrace {
 public:
  WarmTrace() {
    const char* trace = std::getenv("AIRLOCK_TRACE_SETUP");
    on_ = trace != nullptr && trace[0] == '1';
  }
  void operator()(const char* step) const {
    if (on_) fmt::print(stderr, "airlock: warm +{}us {}\n", static_cast<long>(MsSince(t0_) * 1000), step);
  }
  Clock::time_point t0() const { return t0_; }

 private:
  Clock::time_point t0_ = Clock::now();
  bool on_ = false;
};

// The layers the pool's sandbox reported (the report's "layers" schema, read by runapi::ParseLayers),
// then the warm launch itself. The sandbox is already running its command when this is read, so an
// unreadable list cannot fail the run: it is dropped and the warm-launch layer says why (the pool
// server writes the list with the report's own writer, LayersToJson, so only a mismatched pool could
// send one).
std::vector<LayerStatus> WarmLayers(const nlohmann::json& info, double age_ms) {
  std::vector<LayerStatus> layers;
  std::string unreadable;
  if (auto it = info.find(f::kLayers); it != info.end()) {
    auto parsed = runapi::ParseLayers(*it);
    if (parsed) {
      for (auto& l : *parsed) layers.push_back({std::move(l.name), l.engaged, std::move(l.detail)});
    } else {
      unreadable = fmt::format("; the pool's layer list was unreadable ({})", parsed.error().message());
    }
  }
  layers.push_back({"warm-launch", true, fmt::format("prepared by pool {} {:.0f} ms before{}", info.value("pool_pid", 0),
                                                     age_ms, unreadable)});
  return layers;
}

// What the pool's 'Y' says the sandbox enforces (the JSON before the NUL that precedes the cgroup's
// shape), read when it arrives (while the command runs), not after the run.
struct WarmAnswer {
  double age_ms = 0;
  std::vector<LayerStatus> layers;
  std::vector<std::string> not_enforced, weakenings;
  std::optional<RunBounds> bounds;
};

WarmAnswer ReadWarmAnswer(const std::string& answer) {
  std::string json = answer.empty() ? std::string("{}") : answer.substr(1, answer.find('\0') - 1);
  nlohmann::json info = nlohmann::json::parse(json, nullptr, false);
  if (!info.is_object()) info = nlohmann::json::object();
  WarmAnswer a;
  a.age_ms = info.value("age_ms", 0.0);
  a.layers = WarmLayers(info, a.age_ms);
  a.not_enforced = info.value(f::kNotEnforced, std::vector<std::string>{});
  a.weakenings = info.value(f::kWeakenings, std::vector<std::string>{});
  if (auto it = info.find(f::kBounds); it != info.end()) {
    auto bounds = runapi::ParseBounds(*it);
    if (bounds) a.bounds = std::move(*bounds);
    else a.not_enforced.push_back("the pool's description of the bounds was unreadable (they still apply): " + bounds.error().What());
  }
  return a;
}

// The warm launcher's process handle: our connection to the pool, handed over to the sandbox's init.
// It carries the pool's answer first ('Y' + what the sandbox enforces, or 'N' + why not: abandoned,
// run cold), then nothing until init exits (EOF or hang-up: ended). Forwarded signals travel as
// SignalMessages; closing the connection makes init kill the sandbox. A 'Y' from a pool with limits
// carries the sandbox's cgroup (its shape in the JSON, its lease descriptors): adopted into *cgroup,
// which the supervisor kills on a timeout and RecordWarmEnd reads, as in a cold run.
// The private terminal's relay (terminal) starts only once the pool said yes: a declined run goes cold
// with whatever the caller typed meanwhile still unread.
class InitConnection final : public SandboxProcess {
 public:
  InitConnection(UniqueFd sock, std::string socket, const WarmTrace& mark, PtyRelay* terminal, Cgroup* cgroup)
      : sock_(std::move(sock)), socket_(std::move(socket)), mark_(mark), terminal_(terminal), cgroup_(cgroup) {}
  int fd() const override { return sock_.get(); }
  Event OnReadable() override;
  void Signal(int signo) override { SendSignal(sock_.get(), signo); }
  void Kill() override { Signal(SIGKILL); }  // init kills the payload, then everything else, then reports
  // init reports only after it killed and reaped everything else in the sandbox: done. (Its own exit,
  // the namespaces' teardown, need not hold us up.)
  bool EndsWithStatus() const override { return true; }
  const char* LaunchKind() const override { return "warm"; }
  // An exec request travels on the connection to init, like the signals (warm_payload.h).
  Status SendExec(std::string_view msg, const int* fds, size_t nfds) override {
    if (!info_ || !sock_) return MakeError("the warm sandbox is not running yet");  // info_: a 'Y' came
    ssize_t n = SendWithFds(sock_.get(), msg.data(), msg.size(), fds, nfds);
    if (n != static_cast<ssize_t>(msg.size())) {
      return std::unexpected(Error("send the exec request to the sandbox's init", n < 0 ? static_cast<int>(-n) : EIO));
    }
    return Ok();
  }
  std::optional<Clock::time_point> Deadline() const override {
    return answered_ ? std::nullopt : std::optional<Clock::time_point>(answer_deadline_);
  }
  // No answer: the request may still reach a sandbox, so running cold now could run the command twice.
  Event OnDeadline() override {
    no_answer_ = true;
    return Event::kAbandoned;
  }
  // The status can overtake the pool's answer (the sandbox ran while the pool was still writing it):
  // the answer (the sandbox's layers, bounds and cgroup) is still read, within its deadline.
  void Close() override {
    if (!answered_ && sock_) CollectLateAnswer();
    sock_.reset();
  }

  bool no_answer() const { return no_answer_; }
  const std::string& why_not() const { return why_not_; }
  // The answer as read when it arrived (nullopt: no 'Y' came).
  const std::optional<WarmAnswer>& info() const { return info_; }
  const std::string& cgroup_error() const { return cgroup_error_; }

 private:
  void AdoptCgroup(std::vector<UniqueFd> leases);
  void CollectLateAnswer();
  void TakeYes(const char* buf, size_t n, std::vector<UniqueFd> leases, const char* step);

  UniqueFd sock_;
  std::string socket_;
  const WarmTrace& mark_;
  PtyRelay* terminal_;
  Cgroup* cgroup_;
  std::string cgroup_error_;
  Clock::time_point answer_deadline_ = Clock::now() + std::chrono::seconds(2);
  bool answered_ = false;
  bool no_answer_ = false;
  std::string answer_, why_not_;
  std::optional<WarmAnswer> info_;
};

// The pool's answer is read into a buffer that is not cleared first: clearing 64 KiB would touch
// (page-fault) all of it on every warm launch, for an answer of about 2 KiB.
constexpr size_t kAnswerMax = 64 * 1024;
std::unique_ptr<char[]> AnswerBuffer() { return std::make_unique_for_overwrite<char[]>(kAnswerMax); }

void InitConnection::AdoptCgroup(std::vector<UniqueFd> leases) {
  size_t nul = answer_.find('\0');
  auto shape = CgroupShape::FromText(nul == std::string::npos ? std::string() : answer_.substr(nul + 1));
  auto cg = shape ? Cgroup::Adopt(std::move(leases), *shape) : Result<Cgroup>(std::unexpected(shape.error()));
  if (!cg) {
    cgroup_error_ = cg.error().What();
    return;
  }
  *cgroup_ = std::move(*cg);
  mark_("cgroup adopted");
}

void InitConnection::CollectLateAnswer() {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(answer_deadline_ - Clock::now()).count();
  struct pollfd p = {sock_.get(), POLLIN, 0};
  if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) return;
  auto buf = AnswerBuffer();
  std::vector<UniqueFd> leases;
  ssize_t k = RecvAnswer(sock_.get(), buf.get(), kAnswerMax, &leases);
  if (k <= 0 || buf[0] != 'Y') return;
  TakeYes(buf.get(), static_cast<size_t>(k), std::move(leases), "pool answered (after the status)");
}

void InitConnection::TakeYes(const char* buf, size_t n, std::vector<UniqueFd> leases, const char* step) {
  answered_ = true;
  answer_.assign(buf, n);
  mark_(step);
  if (!leases.empty()) AdoptCgroup(std::move(leases));
  info_ = ReadWarmAnswer(answer_);
}

SandboxProcess::Event InitConnection::OnReadable() {
  ssize_t k;
  std::vector<UniqueFd> leases;
  std::unique_ptr<char[]> buf;
  if (answered_) {
    char ignored[256];  // after the answer init sends nothing: this read sees its end
    k = ::recv(sock_.get(), ignored, sizeof ignored, MSG_DONTWAIT);
  } else {
    buf = AnswerBuffer();
    k = RecvAnswer(sock_.get(), buf.get(), kAnswerMax, &leases);
  }
  if (k > 0 && !answered_) {
    if (buf[0] != 'Y') {
      answered_ = true;
      mark_("pool answered");
      why_not_ = std::string(buf.get() + 1, static_cast<size_t>(k - 1));  // declined before any sandbox saw the request
      return Event::kAbandoned;
    }
    TakeYes(buf.get(), static_cast<size_t>(k), std::move(leases), "pool answered");
    if (terminal_ != nullptr) {
      if (Status st = terminal_->Start(); !st) {
        LogError("{}", st.error().What());
        Kill();  // no relay, no run: init ends the sandbox and reports
      }
    }
  } else if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
    if (answered_) return Event::kEnded;
    why_not_ = fmt::format("the pool at {} closed the connection", socket_);
    return Event::kAbandoned;
  }
  return Event::kNone;
}

struct WarmLaunched {
  InitConnection init;
  SupervisedChannels channels;
};

// The request for the sandbox's payload; nullopt (why in *why_not) when it cannot go warm.
std::optional<std::string> BuildRequest(const Policy& policy, const std::vector<std::string>& cmd, const PtyRelay* terminal,
                                        std::string* why_not) {
  auto ids = PlanIdMapping(policy.identity);
  if (!ids) {
    *why_not = ids.error().What();
    return std::nullopt;
  }
  std::vector<std::string> env = BuildEnvironment(policy, *ids);
  std::vector<std::string> exec = ExecCandidates(cmd[0], env);
  mode_t um = ::umask(0);
  ::umask(um);
  const uint32_t tty = terminal != nullptr ? StdioTerminalMask(terminal->stdio()) : 0;
  std::string request = EncodeRequest(cmd, env, exec, static_cast<int>(um), true, tty);
  if (request.size() > kMaxRequestBytes) {
    *why_not = fmt::format("arguments and environment ({} bytes) exceed a warm sandbox's request limit", request.size());
    return std::nullopt;
  }
  return request;
}

// The warm launcher: sends hello and request back to back, no round trip: the pool reads only the
// hello (one message) and, if it serves us, hands the connection to a sandbox whose payload reads the
// request itself. The pool's answer is read by the supervisor (InitConnection). nullopt (why in
// *why_not) when the request did not get through: nothing runs it.
Result<std::optional<WarmLaunched>> LaunchWarm(UniqueFd sock, const std::string& socket, const std::string& key,
                                               const std::string& request, PtyRelay* terminal, const WarmTrace& mark,
                                               Cgroup* cgroup,
                                               std::string* why_not) {
  int errp[2], statusp[2], nsock[2];
  if (::pipe2(errp, O_CLOEXEC) != 0) return std::unexpected(Error("pipe2", errno));
  UniqueFd err_r(errp[0]), err_w(errp[1]);
  if (::pipe2(statusp, O_CLOEXEC) != 0) return std::unexpected(Error("pipe2", errno));
  UniqueFd status_r(statusp[0]), status_w(statusp[1]);
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, nsock) != 0) return std::unexpected(Error("socketpair", errno));
  UniqueFd notify_ours(nsock[0]), notify_theirs(nsock[1]);
  // A closed stdio descriptor of ours is /dev/null in the sandbox (SCM_RIGHTS cannot send a hole).
  UniqueFd null_fd;
  // The private terminal's slave stands in for each stdio descriptor that is a terminal.
  int fds[kMaxRequestFds] = {0, 1, 2, err_w.get(), status_w.get(), notify_theirs.get()};
  const StdioTerminal tty = terminal != nullptr ? terminal->stdio() : StdioTerminal{};
  for (int i = 0; i < 3; ++i) {
    if (tty.slave >= 0 && tty.replace[i]) {
      fds[i] = tty.slave;
    } else if (::fcntl(i, F_GETFD) < 0) {
      if (!null_fd) null_fd.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
      fds[i] = null_fd.get();
    }
  }
  std::string hello = std::string(kHello) + key;
  if (::send(sock.get(), hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size()) ||
      !SendRequest(sock.get(), request, fds, kFdNotify + 1)) {
    // A pool that declined fast has closed already; its answer says why.
    *why_not = fmt::format("pool at {}: {}", socket, std::strerror(errno));
    struct pollfd pa = {sock.get(), POLLIN, 0};
    if (::poll(&pa, 1, 2000) == 1) {
      char buf[4096];
      ssize_t k = RecvAnswer(sock.get(), buf, sizeof buf);
      if (k > 1 && buf[0] == 'N') *why_not = std::string(buf + 1, static_cast<size_t>(k - 1));
    }
    return std::optional<WarmLaunched>();
  }
  if (terminal != nullptr) terminal->ReleaseSlave();  // in flight to the sandbox now
  WarmLaunched out{InitConnection(std::move(sock), socket, mark, terminal, cgroup), {}};
  out.channels.error_r = std::move(err_r);
  out.channels.status_r = std::move(status_r);
  out.channels.notify_r = std::move(notify_ours);
  return std::optional<WarmLaunched>(std::move(out));
}

// The warm supervisor's observer: the status arrived (tracing only).
class WarmObserver final : public SupervisorObserver {
 public:
  explicit WarmObserver(const WarmTrace& mark) : mark_(mark) {}
  void OnPayloadStatus(const StatusRecord&) override { mark_("status received"); }

 private:
  const WarmTrace& mark_;
};

// The seccomp program the warm sandbox's filter runs (compiled on the supervisor's thread, only when
// a first notification is pending).
Result<SeccompProgram> CompileWarmProgram(const Policy& policy) {
  RunOptions none;
  auto eff = EffectiveRunOptions(policy, none);
  SeccompCompileOptions so;
  if (eff) so.notify_syscalls = eff->notify_syscalls;
  return CompileSeccompCached(policy.seccomp, so);
}

// What the pool said the sandbox enforces, its resource use as init reported it (and as its cgroup
// counted it, like a cold run), and how it ended.
void RecordWarmEnd(const Policy& policy, const InitConnection& init, Cgroup& cgroup, const Supervised& sup,
                   Clock::time_point t0, RunOutcome* outcome) {
  WarmAnswer info = init.info() ? *init.info() : ReadWarmAnswer("");
  outcome->warm_age_ms = info.age_ms;
  outcome->layers = std::move(info.layers);
  for (auto& n : info.not_enforced) outcome->not_enforced.push_back(std::move(n));
  outcome->weakenings = std::move(info.weakenings);
  if (info.bounds) outcome->bounds = std::move(*info.bounds);
  outcome->wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (sup.payload) {
    outcome->user_cpu_seconds = static_cast<double>(sup.payload->user_us) / 1e6;
    outcome->system_cpu_seconds = static_cast<double>(sup.payload->system_us) / 1e6;
    outcome->peak_memory_bytes = static_cast<uint64_t>(sup.payload->maxrss_kb) * 1024;
  }
  EndState end;
  if (!init.cgroup_error().empty()) {
    outcome->not_enforced.push_back("the warm sandbox's cgroup could not be read (its limits still apply): " + init.cgroup_error());
  }
  RecordCgroupEnd(cgroup, outcome, &end);
  end.child_error = sup.child_error;
  end.timed_out = sup.timed_out;
  end.timeout = policy.limits.timeout;
  if (sup.payload) end.payload_status = sup.payload->raw_status;
  end.init_status = SIGKILL;  // we cannot wait for init: no report from it means it was killed
  end.has_seccomp = policy.seccomp.requirement != Requirement::kDisabled;
  end.interrupt_signal = sup.interrupt_signal;
  end.killed_on_interrupt = sup.killed_on_interrupt;
  ClassifyOutcome(end, outcome);
}

}  // namespace

std::optional<Result<RunOutcome>> RunWarm(const Policy& policy, const std::vector<std::string>& cmd, const RunOptions& options,
                                          const std::string& socket, const std::string& key, std::string* why_not) {
  const WarmTrace mark;
  if (cmd.empty()) return std::nullopt;
  if (std::string why = WarmIneligibility(policy, options); !why.empty()) {
    *why_not = why;
    return std::nullopt;
  }
  UniqueFd sock = Connect(socket, why_not);
  if (!sock) return std::nullopt;
  mark("connected");
  // The private terminal (or the weakening of handing over the caller's), reported after the pool's layers.
  std::vector<LayerStatus> tty_layers;
  std::vector<std::string> tty_weakenings;
  auto terminal = PrepareTerminal(policy, &tty_layers, &tty_weakenings);
  if (!terminal) return Result<RunOutcome>(std::unexpected(terminal.error()));
  PtyRelay* tty = terminal->get();
  auto request = BuildRequest(policy, cmd, tty, why_not);
  if (!request) return std::nullopt;
  mark("environment, request encoded");

  // Supervise like a cold run, minus network and monitor (which never run warm); the sandbox's
  // cgroup, if the pool made one, arrives with the pool's answer. The forwarded signals are blocked
  // before the request leaves.
  RunOutcome outcome;
  outcome.launch = "warm";
  WarmObserver observer(mark);
  Cgroup cgroup;
  SupervisorOptions so;
  so.timeout = policy.limits.timeout;
  so.cgroup = &cgroup;
  so.compile = [&policy]() { return CompileWarmProgram(policy); };
  so.lazy_notify_thread = true;
  so.observer = &observer;
  so.kill_on_interrupt = options.kill_on_interrupt;
  so.control_fd = options.control_fd;
  so.terminal = tty;
  if (auto ids = PlanIdMapping(policy.identity)) {
    so.exec = [&policy, ids = *ids](ExecMessage m) { return PrepareExecForInit(policy, ids, std::move(m)); };
  }
  Supervisor supervisor(std::move(so));
  auto launched = LaunchWarm(std::move(sock), socket, key, *request, tty, mark, &cgroup, why_not);
  if (!launched) return Result<RunOutcome>(std::unexpected(launched.error()));
  if (!*launched) return std::nullopt;
  mark("request sent");
  if (options.late_control) supervisor.SetControl(options.late_control());  // while the payload starts
  InitConnection& init = (*launched)->init;
  Supervised sup = supervisor.Run(init, (*launched)->channels);
  if (sup.abandoned) {
    if (init.no_answer()) return Result<RunOutcome>(std::unexpected(Error(fmt::format("the pool at {} did not answer within 2 s", socket))));
    *why_not = init.why_not();
    return std::nullopt;
  }
  mark("sandbox ended");
  supervisor.Finish(&outcome);
  mark("supervisor joined");
  RecordWarmEnd(policy, init, cgroup, sup, mark.t0(), &outcome);
  outcome.layers.insert(outcome.layers.end(), tty_layers.begin(), tty_layers.end());
  outcome.weakenings.insert(outcome.weakenings.end(), tty_weakenings.begin(), tty_weakenings.end());
  return outcome;
}

}  // namespace airlock::pool
