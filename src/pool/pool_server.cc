// `airlock pool`: keeps `size` sandboxes ready and hands one to each matching client (pool.h).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <iterator>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.h"
#include "core/fd_passing.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/private_dir.h"
#include "core/unique_fd.h"
#include "kernel/syscalls.h"
#include "pool/pool.h"
#include "pool/pool_wire.h"
#include "pool/warm_payload.h"
#include "policy/profile_loader.h"
#include "process/child_error.h"
#include "process/close_fds.h"
#include "runapi/run_report.h"
#include "sandbox/child.h"
#include "sandbox/classify.h"
#include "sandbox/launcher.h"
#include "sandbox/limits.h"
#include "sandbox/sandbox.h"
#include "userns/userns.h"

namespace airlock::pool {
namespace {

using Clock = std::chrono::steady_clock;

// Waits, at most `budget`, until every process behind `pidfds` has exited: a pidfd polls readable
// once its process (a sandbox's init: after every process of its namespace) is gone from its cgroups.
// Shutdown waits so that the sandboxes' creator removes their cgroups itself, not a later collection
// (which another airlock process may be running at that moment). False when the budget ran out.
bool AwaitExit(const std::vector<int>& pidfds, std::chrono::milliseconds budget) {
  std::vector<pollfd> fds;
  for (int fd : pidfds) fds.push_back({fd, POLLIN, 0});
  const auto deadline = Clock::now() + budget;
  while (!fds.empty()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    if (::poll(fds.data(), fds.size(), static_cast<int>(left)) < 0 && errno != EINTR) return false;
    std::erase_if(fds, [](const pollfd& p) { return p.revents != 0; });
  }
  return true;
}

constexpr std::chrono::seconds kExitBudget{5};

// SIGKILLs every sandbox of `list` (each has a pidfd) and waits until they are all gone (AwaitExit).
template <typename Sandboxes>
void KillAndAwait(const Sandboxes& list, const char* what) {
  std::vector<int> dying;
  for (const auto& s : list) {
    kernel::PidfdSendSignal(s.pidfd.get(), SIGKILL);
    if (s.pidfd) dying.push_back(s.pidfd.get());
  }
  if (!AwaitExit(dying, kExitBudget)) LogWarning("pool: {} has not ended {} s after SIGKILL", what, kExitBudget.count());
}

struct Warm {
  pid_t pid = -1;
  UniqueFd pidfd;
  UniqueFd ctl;    // our end of init's control socket
  UniqueFd pctl;   // our end of the payload's socket: the client's connection goes here first
  UniqueFd err_r;  // setup failures before a client arrives
  UniqueFd sync_w; // open until ready: the sandbox takes its hang-up for our death while it sets up
  Clock::time_point born;
  bool ready = false;
};

// The socket's directory must be ours alone: otherwise another user could have put a socket there.
Status PrepareSocketDir(const std::string& socket) {
  auto slash = socket.rfind('/');
  if (slash == std::string::npos || slash == 0) return Ok();
  std::string dir = socket.substr(0, slash);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("create " + dir);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return ErrnoError("stat " + dir);
  if (!IsPrivateDirOf(st, geteuid())) {
    return MakeError(fmt::format("{} must be a directory owned by uid {} with mode 0700 (another user could serve "
                                 "sandboxes there); remove it or choose --socket",
                                 dir, geteuid()));
  }
  return Ok();
}

Result<UniqueFd> Listen(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) return MakeError("socket path too long: " + path);
  UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s) return ErrnoError("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  // A socket left by a pool that was killed: replace it, but never take over a live pool.
  UniqueFd probe(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    return MakeError("another pool already serves " + path);
  }
  ::unlink(path.c_str());
  mode_t old = ::umask(077);
  int rc = ::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0) return ErrnoError("bind " + path);
  if (::listen(s.get(), 64) != 0) return ErrnoError("listen " + path);
  return s;
}


// Two processes. The acceptor (the pool's main process) answers clients and hands out ready
// sandboxes; the spawner, forked from it at start, prepares sandboxes (they are its children) and
// passes each ready one to the acceptor. A client never waits behind a clone, and cloning never
// stalls the acceptor (a fork-like clone locks the parent's whole address space while copying it).
//   spawner -> acceptor  ReadyMessage + the cgroup's shape (CgroupShape::ToText, empty without limits)
//                        + fds [init's control socket, the payload's socket, pidfd, cgroup leases...]
//                        or 'E' + why (the spawner gave up; the pool ends)
//                        or 'q' (stopped: every ready sandbox it passed came before this)
//   acceptor -> spawner  one byte per sandbox taken or retired: make another
//                        or 'Q' at shutdown: stop (kill the sandboxes still starting), answer 'q'
// Shutdown: 'Q', then the acceptor takes what the spawner passed until 'q', kills every waiting
// sandbox, waits until they are gone and closes the link; the spawner reaps them, removes their
// cgroups (it made them: no collection needed) and exits.
// A sandbox still waiting dies with the spawner (parent-death signal); one already serving a client
// has dropped that signal and lives on.
// Limits: each sandbox gets a cgroup of its own, made by the spawner before the clone; init is born
// in it (v2, CLONE_INTO_CGROUP) or joins it itself before it waits (v1: "0" into `tasks`), so neither
// the pool nor the client ever migrates a process. The lease (cgroup/cgroup.h) goes with the sandbox:
// spawner -> acceptor -> client; the spawner, init's parent, removes the cgroup once init is reaped
// and nobody holds the lease any more (the client has read the counters).
constexpr char kQuit = 'Q', kQuitDone = 'q';

struct ReadyMessage {
  char tag = 'W';
  pid_t pid = 0;
  int64_t born_ns = 0;  // CLOCK_MONOTONIC
};

class Spawner {
 public:
  // `enforced`: the limits each sandbox's cgroup must enforce (empty: no cgroup per sandbox).
  Spawner(const PreparedRun& run, const ServeOptions& o, int link, std::vector<std::string> enforced)
      : run_(run), opts_(o), link_(link), enforced_(std::move(enforced)) {}
  [[noreturn]] void Main();

 private:
  Result<Warm> Start();
  Result<std::optional<Cgroup>> MakeCgroup();
  void StartMissing();
  void OnStarting(const std::vector<pollfd>& fds);
  void PassReady();
  void Reap();
  void RemoveFinished();
  void KillStarting();
  void Quit();
  [[noreturn]] void Exit(int code);
  [[noreturn]] void GiveUp(const std::string& why);

  const PreparedRun& run_;
  ServeOptions opts_;
  int link_;
  std::vector<std::string> enforced_;
  std::map<pid_t, Cgroup> cgroups_;  // by init's pid, from the clone until init is reaped
  std::vector<Cgroup> removing_;     // init reaped; removed once nobody holds the lease
  std::deque<Warm> starting_;
  size_t in_stock_ = 0;  // ready sandboxes the acceptor holds
  int failures_ = 0;     // consecutive sandboxes that failed before becoming ready
  bool quitting_ = false;  // the acceptor stops: no new sandboxes
  std::string last_error_;
  Clock::time_point retry_at_ = Clock::now();
};

// The sandbox's cgroup, enforcing exactly what the pool announced (a host that changed under the pool
// would otherwise serve runs with other limits than their key says).
Result<std::optional<Cgroup>> Spawner::MakeCgroup() {
  if (enforced_.empty()) return std::optional<Cgroup>();
  auto cg = CreateCgroupFromParent(run_.policy.limits, "pool");
  if (!cg) return std::unexpected(std::move(cg.error()).WithContext("cgroup"));
  if (cg->enforced() != enforced_) {
    return MakeError(fmt::format("cgroup: a new cgroup enforces [{}], the pool serves [{}]", fmt::join(cg->enforced(), ", "),
                                 fmt::join(enforced_, ", ")));
  }
  return std::optional<Cgroup>(std::move(*cg));
}

// The new sandbox's init (our child, single-threaded): none of the pool's descriptors (the listening
// socket, other sandboxes' sockets, clients' connections, cgroup leases) stays open in it, only its
// own channels and the v1 `tasks` files it joins its cgroup through (then closes).
[[noreturn]] void StartWarmInitInChild(const PreparedRun& run, int sync_r, int err_w, int ctl, int pctl,
                                       const std::vector<int>& v1_tasks) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);  // the pool ignores it; the payload must not inherit that
  int keep[4 + kMaxPassedFds] = {sync_r, err_w, ctl, pctl};
  size_t nkeep = 4;
  for (size_t i = 0; i < v1_tasks.size() && nkeep < std::size(keep); ++i) keep[nkeep++] = v1_tasks[i];
  CloseFdsExcept(keep, nkeep);
  ChildChannels ch;
  ch.sync_read = sync_r;
  ch.error_write = err_w;
  ch.cgroup_tasks = v1_tasks.data();
  ch.cgroup_tasks_count = v1_tasks.size();
  WarmChannels warm;
  warm.pool_ctl = ctl;
  warm.pool_payload = pctl;
  PayloadSpec unused;  // a warm sandbox's payload builds its own from the client's request
  RunSandboxInitInChild(run, unused, ch, WarmStartFor(&warm));
}

Result<Warm> Spawner::Start() {
  auto cg = MakeCgroup();
  if (!cg) return std::unexpected(cg.error());
  Cgroup::JoinFds join;
  if (*cg) {
    auto opened = (*cg)->OpenForJoin();
    if (!opened) return std::unexpected(opened.error());
    join = std::move(*opened);
  }
  std::vector<int> v1_tasks;
  for (const UniqueFd& fd : join.v1_tasks) v1_tasks.push_back(fd.get());
  int sync[2], err[2], ctl[2], pctl[2];
  if (::pipe2(sync, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  UniqueFd sync_r(sync[0]), sync_w(sync[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  UniqueFd err_r(err[0]), err_w(err[1]);
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) != 0) return ErrnoError("socketpair");
  UniqueFd ctl_ours(ctl[0]), ctl_child(ctl[1]);
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pctl) != 0) return ErrnoError("socketpair");
  UniqueFd pctl_ours(pctl[0]), pctl_child(pctl[1]);

  int pidfd = -1;
  bool into_cgroup = false;
  auto cloned = CloneInit(run_.ids, run_.clone_flags, &pidfd, join.v2_dir.get(), &into_cgroup);  // userns.h: the namespace's owner
  if (!cloned) return std::unexpected(cloned.error());
  pid_t pid = *cloned;
  if (pid < 0) return ErrnoError("clone (creating namespaces)");
  if (pid == 0) StartWarmInitInChild(run_, sync_r.get(), err_w.get(), ctl_child.get(), pctl_child.get(), v1_tasks);
  Warm w;
  w.pid = pid;
  w.pidfd.reset(pidfd);
  w.born = Clock::now();
  sync_r.reset();
  err_w.reset();
  ctl_child.reset();
  pctl_child.reset();
  if (*cg) {
    LogDebug("pool: cgroup of sandbox {}: {}", pid, fmt::join((*cg)->paths(), " "));
    Cgroup& mine = cgroups_.emplace(pid, std::move(**cg)).first->second;
    // A kernel without CLONE_INTO_CGROUP: a migration after all, still off the clients' path.
    if (Status st = into_cgroup ? Ok() : mine.Attach(pid); !st) {
      kernel::PidfdSendSignal(w.pidfd.get(), SIGKILL);
      return std::unexpected(st.error());
    }
  }
  if (Status st = WriteIdMapsFromParent(pid, run_.ids); !st) {
    kernel::PidfdSendSignal(w.pidfd.get(), SIGKILL);
    return std::unexpected(st.error());
  }
  char go = 'G';
  if (::write(sync_w.get(), &go, 1) != 1) return ErrnoError("release warm sandbox");
  w.sync_w = std::move(sync_w);
  w.ctl = std::move(ctl_ours);
  w.pctl = std::move(pctl_ours);
  w.err_r = std::move(err_r);
  return w;
}

void Spawner::GiveUp(const std::string& why) {
  std::string m = "E" + why;
  ssize_t n = ::send(link_, m.data(), m.size(), MSG_NOSIGNAL);
  (void)n;
  Exit(1);
}

// Reaps our children (sandboxes' inits); a reaped init's cgroup is removed once nobody holds its lease.
void Spawner::Reap() {
  for (;;) {
    pid_t pid = ::waitpid(-1, nullptr, WNOHANG);
    if (pid <= 0) break;
    if (auto it = cgroups_.find(pid); it != cgroups_.end()) {
      removing_.push_back(std::move(it->second));
      cgroups_.erase(it);
    }
  }
  RemoveFinished();
}

void Spawner::RemoveFinished() {
  for (auto it = removing_.begin(); it != removing_.end();) {
    Status s = it->Remove();
    if (!s && s.error().err() == EBUSY && it->active()) {
      ++it;  // its client still reads the counters: again soon
      continue;
    }
    if (!s) LogWarning("pool: {}", s.error().What());
    it = removing_.erase(it);
  }
}

// Waiting sandboxes die with us (parent-death signal). Their cgroups, and those of served sandboxes
// whose client has finished, are removed here or by the acceptor's collection after we are gone
// (Serve); a sandbox still serving a client keeps its cgroup until that client removes it.
void Spawner::Exit(int code) {
  KillStarting();
  _exit(code);
}

// Kills the sandboxes being prepared (ready or not: not passed on), waits until they are gone, reaps
// them and removes their cgroups.
void Spawner::KillStarting() {
  KillAndAwait(starting_, "a sandbox being prepared");
  starting_.clear();
  Reap();
}

// The acceptor stops (kQuit): no sandbox is started or passed any more; kQuitDone follows the last
// one passed.
void Spawner::Quit() {
  quitting_ = true;
  KillStarting();
  char done = kQuitDone;
  if (::send(link_, &done, 1, MSG_NOSIGNAL) != 1) Exit(0);
}

bool SendReady(int link, const Warm& w, const Cgroup* cg) {
  ReadyMessage m;
  m.pid = w.pid;
  m.born_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(w.born.time_since_epoch()).count();
  std::string msg(reinterpret_cast<const char*>(&m), sizeof m);
  std::vector<int> fds = {w.ctl.get(), w.pctl.get(), w.pidfd.get()};
  if (cg != nullptr) {
    msg += cg->shape().ToText();
    for (int fd : cg->lease_fds()) fds.push_back(fd);
  }
  return SendWithFds(link, msg.data(), msg.size(), fds.data(), fds.size()) == static_cast<ssize_t>(msg.size());
}

// Starts sandboxes until `size` are starting or in stock; after a failure, again in a second.
void Spawner::StartMissing() {
  if (Clock::now() < retry_at_) return;
  while (starting_.size() + in_stock_ < opts_.size) {
    auto w = Start();
    if (!w) {
      last_error_ = w.error().What();
      LogError("pool: {}", last_error_);
      ++failures_;
      retry_at_ = Clock::now() + std::chrono::seconds(1);
      break;
    }
    starting_.push_back(std::move(*w));
  }
}

// Setup failures (error pipe) and readiness or death (control socket) of the sandboxes starting;
// fds[2 + 2i] and fds[3 + 2i] belong to starting_[i].
void Spawner::OnStarting(const std::vector<pollfd>& fds) {
  for (size_t i = 0; i < starting_.size(); ++i) {
    Warm& w = starting_[i];
    if (fds[3 + 2 * i].revents && w.err_r) {
      ChildErrorRecord rec{};
      if (::read(w.err_r.get(), &rec, sizeof rec) == static_cast<ssize_t>(sizeof rec)) {
        rec.stage[sizeof rec.stage - 1] = '\0';
        rec.detail[sizeof rec.detail - 1] = '\0';
        int unused_code;
        last_error_ = DescribeChildError(rec, run_.seccomp.has_value(), &unused_code);
        LogError("pool: {}", last_error_);
      }
      w.err_r.reset();
    }
    if (fds[2 + 2 * i].revents) {
      char c = 0;
      ssize_t n = ::recv(w.ctl.get(), &c, 1, MSG_DONTWAIT);
      if (n == 1 && c == 'R') {
        w.ready = true;
      } else if (n == 0) {
        ++failures_;  // died before it was ready
        kernel::PidfdSendSignal(w.pidfd.get(), SIGKILL);
        w.pid = -1;
      }
    }
  }
}

// Passes every ready sandbox to the acceptor.
void Spawner::PassReady() {
  for (auto& w : starting_) {
    if (!w.ready) continue;
    LogDebug("pool: sandbox {} ready after {:.2f} ms", w.pid,
             std::chrono::duration<double, std::milli>(Clock::now() - w.born).count());
    w.sync_w.reset();
    auto cg = cgroups_.find(w.pid);
    if (!SendReady(link_, w, cg == cgroups_.end() ? nullptr : &cg->second)) Exit(0);
    if (cg != cgroups_.end()) cg->second.DropLease();  // the acceptor holds it now
    failures_ = 0;
    ++in_stock_;
    w.pid = -1;  // the acceptor has it now; we only reap it
  }
  std::erase_if(starting_, [](const Warm& w) { return w.pid < 0; });
}

void Spawner::Main() {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
  UniqueFd sigfd(::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK));
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);  // the acceptor is gone: so are we
  for (;;) {
    if (failures_ >= 3) {
      GiveUp("three sandboxes in a row failed before becoming ready" + (last_error_.empty() ? std::string() : ": " + last_error_));
    }
    if (!quitting_) StartMissing();
    std::vector<pollfd> fds;
    fds.push_back({link_, POLLIN, 0});
    fds.push_back({sigfd.get(), POLLIN, 0});
    for (auto& w : starting_) {
      fds.push_back({w.ctl.get(), POLLIN, 0});
      fds.push_back({w.err_r ? w.err_r.get() : -1, POLLIN, 0});
    }
    const int wait_ms = removing_.empty() ? 1000 : 20;  // a cgroup to remove once its lease is free
    if (::poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) GiveUp(fmt::format("poll: {}", std::strerror(errno)));
    if (fds[0].revents) {
      char taken[64];
      ssize_t n = ::recv(link_, taken, sizeof taken, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN)) Exit(0);  // the acceptor closed us down
      if (n > 0 && taken[0] == kQuit) Quit();
      else if (n > 0) in_stock_ -= std::min(in_stock_, static_cast<size_t>(1));
    }
    OnStarting(fds);
    PassReady();
    if (fds[1].revents) {
      struct signalfd_siginfo si;
      while (::read(sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
      }
    }
    if (fds[1].revents || !removing_.empty()) Reap();
  }
}

struct Ready {
  pid_t pid = -1;
  Clock::time_point born;
  UniqueFd ctl, pctl, pidfd;
  std::vector<UniqueFd> cgroup;  // the cgroup's lease descriptors (empty without limits)
  std::string cgroup_shape;      // CgroupShape::ToText
};

class Acceptor {
 public:
  Acceptor(const ServeOptions& o, std::string key, std::string fast_key, std::string layers, int link)
      : opts_(o), key_(std::move(key)), fast_key_(std::move(fast_key)), layers_(std::move(layers)), link_(link) {}
  Result<int> Loop(int listen_fd);
  // Shutdown (the wire above): stops the spawner, takes what it passed meanwhile and retires it all.
  void Stop() {
    char q = kQuit;
    if (::send(link_, &q, 1, MSG_NOSIGNAL) != 1) return RetireAll();
    const auto deadline = Clock::now() + 2 * kExitBudget;
    while (!spawner_stopped_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        LogWarning("pool: the spawner did not stop within {} s", 2 * kExitBudget.count());
        break;
      }
      pollfd p{link_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) break;
      if (p.revents && !OnSpawner()) break;
    }
    RetireAll();
  }

 private:
  // Kills the sandboxes still waiting, waits until they are gone (so the spawner, their parent, reaps
  // them and removes their cgroups before it exits) and lets go of them (and of their cgroup leases).
  void RetireAll() {
    KillAndAwait(ready_, "a waiting sandbox");
    ready_.clear();
  }
  void Accept(int listen_fd);
  Status OnSpawner();
  void Refill() {
    char t = 'T';
    ssize_t n = ::send(link_, &t, 1, MSG_NOSIGNAL);
    (void)n;
  }
  // A replacement is prepared a little after a hand-out, not during it: building a sandbox (clone,
  // mounts: expedited RCU grace periods interrupt every CPU) would slow down the run that was just
  // handed out, and most runs are short. With no sandbox left, at once.
  void RefillSoon() {
    if (ready_.empty()) {
      Refill();
    } else {
      refill_due_.push_back(Clock::now() + std::chrono::milliseconds(10));
    }
  }
  void RefillDue() {
    while (!refill_due_.empty() && (refill_due_.front() <= Clock::now() || ready_.empty())) {
      refill_due_.pop_front();
      Refill();
    }
  }
  std::deque<Clock::time_point> refill_due_;

  ServeOptions opts_;
  std::string key_;
  std::string fast_key_;  // empty: no fast path (not a built-in profile)
  std::string layers_;
  int link_;
  std::deque<Ready> ready_;
  uint64_t served_ = 0, declined_ = 0;
  bool spawner_stopped_ = false;  // the spawner answered kQuit
};

Status Acceptor::OnSpawner() {
  char text[4096];
  int fds[kMaxPassedFds];
  size_t nfds = 0;
  bool truncated = false;
  ssize_t n = ReceiveWithFds(link_, text, sizeof text, fds, kMaxPassedFds, &nfds, &truncated);
  if (n <= 0) return MakeError("the spawner process ended");
  if (n == 1 && nfds == 0 && text[0] == kQuitDone) {
    spawner_stopped_ = true;
    return Ok();
  }
  bool have_fds = nfds >= 3;
  Ready r;
  for (size_t i = 0; i < nfds; ++i) {
    if (i == 0) r.ctl.reset(fds[i]);
    else if (i == 1) r.pctl.reset(fds[i]);
    else if (i == 2) r.pidfd.reset(fds[i]);
    else r.cgroup.emplace_back(fds[i]);
  }
  if (text[0] == 'E') return MakeError(std::string(text + 1, static_cast<size_t>(n - 1)));
  ReadyMessage m;
  if (n < static_cast<ssize_t>(sizeof m) || !have_fds || truncated) return MakeError("malformed message from the spawner");
  std::memcpy(&m, text, sizeof m);
  r.cgroup_shape.assign(text + sizeof m, static_cast<size_t>(n) - sizeof m);
  r.pid = m.pid;
  r.born = Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(m.born_ns)));
  ready_.push_back(std::move(r));
  return Ok();
}

void Acceptor::Accept(int listen_fd) {
  UniqueFd c(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
  if (!c) return;
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(c.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != geteuid()) {
    LogWarning("pool: refused a client with uid {} (serving uid {} only)", cred.uid, geteuid());
    return;
  }
  struct timeval tv = {1, 0};
  ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string hello(key_.size() + sizeof kHello + 64, '\0');
  ssize_t n = ::recv(c.get(), hello.data(), hello.size(), 0);
  auto decline = [&](const std::string& why) {
    ++declined_;
    std::string m = "N" + why;
    ssize_t w = ::send(c.get(), m.data(), m.size(), MSG_NOSIGNAL);
    (void)w;
    // Read what the client sent after its hello, so closing does not reset the connection before it
    // reads the answer.
    char drain[512];
    while (::recv(c.get(), drain, sizeof drain, MSG_DONTWAIT | MSG_TRUNC) > 0) {
    }
    LogDebug("pool: declined pid {}: {}", cred.pid, why);
  };
  const size_t hl = sizeof kHello - 1;
  if (n < static_cast<ssize_t>(hl) || hello.compare(0, hl, kHello) != 0) return decline("not an airlock pool request");
  auto matches = [&](const std::string& k) {
    return !k.empty() && static_cast<size_t>(n) - hl == k.size() && hello.compare(hl, k.size(), k) == 0;
  };
  if (!matches(key_) && !matches(fast_key_)) return decline("the run's policy differs from the pool's");
  // The payload first (it is on the launch path), then init (it only watches the connection), then
  // the answer: a sandbox that died while waiting is skipped, the client never hears of it.
  while (!ready_.empty()) {
    Ready w = std::move(ready_.front());
    ready_.pop_front();
    RefillSoon();
    if (SendFd(w.pctl.get(), c.get()) != 0 || SendFd(w.ctl.get(), c.get()) != 0) {
      LogWarning("pool: sandbox {} is gone; trying the next", w.pid);
      kernel::PidfdSendSignal(w.pidfd.get(), SIGKILL);
      continue;
    }
    double age = std::chrono::duration<double, std::milli>(Clock::now() - w.born).count();
    std::string yes = "Y" + layers_;
    yes.insert(yes.size() - 1, fmt::format(",\"pool_pid\":{},\"age_ms\":{:.1f}", getpid(), age));
    // The sandbox's cgroup goes to the client with its lease: it kills it on a timeout and reads its
    // counters (pool_client.cc); the spawner removes it when init is gone and the lease is free.
    std::vector<int> leases;
    for (const auto& l : w.cgroup) leases.push_back(l.get());
    if (!leases.empty()) yes += std::string(1, '\0') + w.cgroup_shape;  // after the JSON (pool_wire.h)
    ssize_t sent = SendWithFds(c.get(), yes.data(), yes.size(), leases.data(), leases.size());
    (void)sent;  // a client that left already: its sandbox sees the hang-up and ends
    ++served_;
    LogDebug("pool: sandbox {} (ready {:.0f} ms) serves pid {}", w.pid, age, cred.pid);
    return;
  }
  decline("no warm sandbox ready");
}

Result<int> Acceptor::Loop(int listen_fd) {
  sigset_t term;
  sigemptyset(&term);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&term, s);
  ::sigprocmask(SIG_BLOCK, &term, nullptr);
  UniqueFd sigfd(::signalfd(-1, &term, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd) return ErrnoError("signalfd");
  for (;;) {
    // Retire ready sandboxes older than max_age (their view of /etc may be stale).
    while (!ready_.empty() && Clock::now() - ready_.front().born > opts_.max_age) {
      kernel::PidfdSendSignal(ready_.front().pidfd.get(), SIGKILL);
      ready_.pop_front();
      Refill();
    }
    RefillDue();
    int wait_ms = 1000;
    if (!refill_due_.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(refill_due_.front() - Clock::now()).count();
      wait_ms = static_cast<int>(std::clamp<int64_t>(left + 1, 0, 1000));
    }
    std::vector<pollfd> fds = {{listen_fd, POLLIN, 0}, {sigfd.get(), POLLIN, 0}, {link_, POLLIN, 0}};
    for (const auto& r : ready_) fds.push_back({r.pidfd.get(), POLLIN, 0});  // readable = it exited
    if (::poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) return ErrnoError("poll");
    for (size_t i = fds.size(); i-- > 3;) {
      if (fds[i].revents) {
        LogWarning("pool: waiting sandbox {} ended; replacing it", ready_[i - 3].pid);
        ready_.erase(ready_.begin() + static_cast<long>(i - 3));
        Refill();
      }
    }
    if (fds[2].revents) {
      if (Status s = OnSpawner(); !s) return std::unexpected(s.error());
    }
    if (fds[1].revents) {
      struct signalfd_siginfo si {};
      if (::read(sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        LogInfo("pool: {} received; {} runs served warm, {} declined", strsignal(static_cast<int>(si.ssi_signo)), served_,
                declined_);
      }
      return 0;
    }
    if (fds[0].revents) Accept(listen_fd);
  }
}

// Limits, decided once as a cold run decides them (a cgroup, the rlimit fallback, or a refusal; the
// layers and rlimits land in run); every sandbox then gets a cgroup of its own that enforces the
// limits returned here (none: no cgroup per sandbox).
Result<std::vector<std::string>> DecideLimits(const Policy& policy, PreparedRun& run) {
  auto probe = SetUpLimitsFromParent(policy.limits, run, "pool");
  if (!probe) return std::unexpected(std::move(probe.error()).WithContext("limits"));
  if (probe->active()) {
    GarbageCollectStaleCgroups();  // e.g. of a pool killed before
    LogInfo("pool: every sandbox gets its own cgroup ({}: {})", probe->version(), fmt::join(probe->enforced(), ", "));
  }
  return probe->enforced();
}

}  // namespace

Result<int> Serve(const Policy& policy, const ServeOptions& options) {
  RunOptions none;
  if (std::string why = WarmIneligibility(policy, none); !why.empty()) return MakeError("this policy cannot be pooled: " + why);
  auto eff = EffectiveRunOptions(policy, none);
  if (!eff) return std::unexpected(eff.error());
  // The command comes with each request; "/bin/true" only satisfies PrepareRun.
  auto run = PrepareRun(policy, {"/bin/true"}, *eff);
  if (!run) return std::unexpected(run.error());
  auto enforced = DecideLimits(policy, *run);
  if (!enforced) return std::unexpected(enforced.error());
  nlohmann::json info;
  info[runapi::report_field::kLayers] = LayersToJson(run->layers);  // read back by runapi::ParseLayers
  info[runapi::report_field::kNotEnforced] = run->not_enforced;
  info[runapi::report_field::kWeakenings] = run->weakenings;
  if (run->bounds) info[runapi::report_field::kBounds] = BoundsToJson(*run->bounds);  // read back by runapi::ParseBounds

  ServeOptions o = options;
  if (o.socket.empty()) o.socket = DefaultSocketPath(/*create=*/true);
  if (o.size == 0) return MakeError("--size must be at least 1");
  // A daemon's stdio may be closed; keep 0-2 taken so no socket lands there.
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0) {
      int null = ::open("/dev/null", O_RDWR);
      if (null >= 0 && null != fd) ::close(null);
    }
  }
  if (Status s = PrepareSocketDir(o.socket); !s) return std::unexpected(s.error());
  auto listen_fd = Listen(o.socket);
  if (!listen_fd) return std::unexpected(listen_fd.error());
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, nullptr);
  LogInfo("pool: serving profile '{}' on {} ({} sandboxes kept ready, each retired after {} s)", policy.name, o.socket,
          o.size, o.max_age.count());
  int link[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, link) != 0) return ErrnoError("socketpair");
  UniqueFd acceptor_end(link[0]), spawner_end(link[1]);
  pid_t spawner = ::fork();
  if (spawner < 0) return ErrnoError("fork the spawner");
  if (spawner == 0) {
    ::close(listen_fd->release());
    acceptor_end.reset();
    Spawner(*run, o, spawner_end.get(), *enforced).Main();
  }
  spawner_end.reset();
  // The fast path (pool.h): a built-in profile whose policy does not depend on the working directory.
  std::string fast_key = BuiltinFastKey(o.profile);
  if (!fast_key.empty()) {
    auto other = LoadProfile(o.profile, "/nonexistent/airlock-pool-cwd-probe");
    if (!other || PolicyToToml(*other) != PolicyToToml(policy)) fast_key.clear();
  }
  std::string params = ParamsPath(o.socket);
  if (!fast_key.empty()) {
    std::string tmp = params + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    std::string text = PublishedParams(policy, fast_key);
    bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (fd >= 0) ::close(fd);
    if (!ok || ::rename(tmp.c_str(), params.c_str()) != 0) {
      LogWarning("pool: cannot publish {} (runs will load their profile): {}", params, std::strerror(errno));
      fast_key.clear();
    }
  }
  Acceptor acceptor(o, PoolKey(policy), fast_key, DumpJson(info), acceptor_end.get());
  auto rc = acceptor.Loop(listen_fd->get());
  ::unlink(params.c_str());
  ::unlink(o.socket.c_str());
  acceptor.Stop();
  acceptor_end.reset();  // the spawner exits; sandboxes still waiting die with it
  ::waitpid(spawner, nullptr, 0);
  // The sandboxes' cgroups the spawner could not remove (their inits died with it): its pid is dead
  // now and nobody holds their lease, unless a client still runs in one (that client removes it).
  if (!enforced->empty()) GarbageCollectStaleCgroups();
  return rc;
}

}  // namespace airlock::pool
