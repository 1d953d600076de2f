#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "cgroup/cgroup.h"
#include "core/fd_passing.h"
#include "core/log.h"
#include "core/unique_fd.h"
#include "kernel/syscalls.h"
#include "monitor/monitor.h"
#include "net/net.h"
#include "net/netns_setup.h"
#include "net/sinkhole.h"
#include "process/child_error.h"
#include "sandbox/child.h"
#include "sandbox/classify.h"
#include "seccomp/notify.h"
#include "userns/userns.h"

namespace airlock {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

struct Pipe {
  UniqueFd r, w;
};
Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

Result<RunOptions> EffectiveRunOptions(const Policy& policy, const RunOptions& options) {
  RunOptions opts = options;
  // Fileless execution is always reported: with denial counting on, memfd_create and execveat are
  // routed to the supervisor too (both are rare; hot syscalls never are) and counted in "observed".
  if (policy.seccomp.requirement != Requirement::kDisabled && policy.seccomp.count_denials && opts.monitor_fd < 0) {
    for (const auto& s : ObservedSyscalls()) opts.notify_syscalls.push_back(s);
  }
  if (opts.monitor_fd >= 0) {
    if (policy.seccomp.requirement == Requirement::kDisabled) {
      return MakeError("--monitor needs seccomp (the monitor rides on seccomp user notification); the profile disables it");
    }
    for (const auto& s : MonitoredSyscalls()) opts.notify_syscalls.push_back(s);
    if (!opts.monitor_reads) opts.notify_filters = MonitorNotifyFilters();
  }
  return opts;
}

Result<RunOutcome> RunSandbox(const Policy& policy, const std::vector<std::string>& cmd, const RunOptions& options) {
  auto t0 = Clock::now();
  RunOutcome outcome;

  // 1. Prepare everything the child needs.
  auto eff = EffectiveRunOptions(policy, options);
  if (!eff) return std::unexpected(eff.error());
  RunOptions opts = *eff;
  auto prepared = PrepareRun(policy, cmd, opts);
  if (!prepared) return std::unexpected(prepared.error());
  PreparedRun& run = *prepared;
  outcome.setup_ms["prepare"] = MsSince(t0);

  // 2. Limits: cgroup where possible, rlimit fallback where allowed.
  auto t_cg = Clock::now();
  Cgroup cgroup;
  const Limits& lim = policy.limits;
  bool want_cgroup = lim.memory_bytes || lim.pids || lim.cpus;
  std::vector<std::string> fallback;
  if (want_cgroup) {
    GarbageCollectStaleCgroups();
    auto cg = CreateCgroupFromParent(lim, "run");
    if (!cg) return std::unexpected(std::move(cg.error()).WithContext("cgroup"));
    cgroup = std::move(*cg);
    auto enforced = [&](const char* what) {
      for (const auto& e : cgroup.enforced())
        if (e == what) return true;
      return false;
    };
    auto check = [&](bool wanted, const char* what, const char* rlimit) -> Status {
      if (!wanted) return Ok();
      if (enforced(what)) {
        run.layers.push_back({std::string("cgroup-") + what, true, cgroup.version()});
        return Ok();
      }
      if (lim.cgroup == Requirement::kRequired || rlimit == nullptr) {
        return MakeError(fmt::format("the {} limit needs a writable cgroup {} controller, which this user does not have "
                                     "(run as root, delegate a cgroup subtree, or set limits.cgroup = \"best-effort\"{})",
                                     what, what, rlimit ? " to fall back to " + std::string(rlimit) : ""));
      }
      fallback.push_back(what);
      run.layers.push_back({std::string("cgroup-") + what, false, std::string(rlimit) + " fallback"});
      std::string msg = fmt::format("{} limit enforced with {} instead of a cgroup (cgroup controller not writable)", what, rlimit);
      run.not_enforced.push_back(msg);
      LogWarning("{}", msg);
      return Ok();
    };
    Status s = check(lim.memory_bytes.has_value(), "memory", "RLIMIT_AS");
    if (s) s = check(lim.pids.has_value(), "pids", "RLIMIT_NPROC");
    if (s) s = check(lim.cpus.has_value(), "cpu", nullptr);
    if (!s) {
      outcome.exit_code = kExitUnsupported;
      return std::unexpected(s.error());
    }
  }
  auto rl = PrepareRlimits(lim, fallback);
  if (!rl) return std::unexpected(std::move(rl.error()).WithContext("rlimits"));
  run.rlimits = std::move(*rl);
  run.fallback_limits = fallback;
  outcome.setup_ms["cgroup"] = MsSince(t_cg);

  // 3. Channels.
  auto sync = MakePipe();
  auto errp = MakePipe();
  auto statusp = MakePipe();
  if (!sync || !errp || !statusp) return std::unexpected(Error("pipe2", errno));
  UniqueFd notify_parent, notify_child;
  if (run.seccomp && run.seccomp->uses_user_notif) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return ErrnoError("socketpair");
    notify_parent.reset(sv[0]);
    notify_child.reset(sv[1]);
  }

  // Block the signals we forward before clone so none is lost; the child restores the mask.
  sigset_t fwd, old_mask;
  sigemptyset(&fwd);
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH}) sigaddset(&fwd, s);
  ::sigprocmask(SIG_BLOCK, &fwd, &old_mask);

  // 4. clone.
  std::vector<const char*> exec_ptrs;
  for (const auto& c : run.exec_candidates) exec_ptrs.push_back(c.c_str());
  PayloadSpec spec;
  spec.argv = run.argv.data();
  spec.envp = run.envp.data();
  spec.exec = exec_ptrs.data();
  spec.execc = exec_ptrs.size();
  auto t_clone = Clock::now();
  int pidfd_raw = -1;
  pid_t child = kernel::CloneForkLike(run.clone_flags, &pidfd_raw);
  if (child < 0) {
    int e = errno;
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    std::string diag = DiagnoseUserNamespaces();
    outcome.exit_code = kExitUnsupported;
    return std::unexpected(Error(diag.empty() ? "clone (creating namespaces)" : "clone: " + diag, e));
  }
  if (child == 0) {
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    ChildChannels ch;
    ch.sync_read = sync->r.get();
    ch.error_write = errp->w.get();
    ch.status_write = statusp->w.get();
    ch.notify_write = notify_child ? notify_child.get() : -1;
    // Drop the parent's ends (close without touching UniqueFd bookkeeping in ways that allocate).
    ::close(sync->w.release());
    ::close(errp->r.release());
    ::close(statusp->r.release());
    if (notify_parent) ::close(notify_parent.release());
    RunSandboxInitInChild(run, spec, ch);
  }
  UniqueFd pidfd(pidfd_raw);
  // A closed monitor or report pipe must not kill the supervisor (the child was forked before this).
  struct sigaction ignore_pipe {}, old_pipe {};
  ignore_pipe.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore_pipe, &old_pipe);
  sync->r.reset();
  errp->w.reset();
  statusp->w.reset();
  notify_child.reset();
  outcome.setup_ms["clone"] = MsSince(t_clone);

  auto kill_child = [&]() { kernel::PidfdSendSignal(pidfd.get(), SIGKILL); };

  // 5. From outside: uid maps, cgroup membership, user-mode network; then release the child.
  auto t_rel = Clock::now();
  std::optional<UserNet> usernet;
  Status st = WriteIdMapsFromParent(child, run.ids);
  if (st && cgroup.active()) st = cgroup.Attach(child);
  if (st && policy.net.mode == NetMode::kUser) {
    auto un = StartUserNetFromParent(child, policy.net);
    if (!un) {
      st = std::unexpected(un.error());
    } else {
      usernet.emplace(std::move(*un));
      run.layers.push_back({"user-network", true, usernet->helper()});
    }
  }
  // Routes, nftables and the sinkhole's sockets, set up from outside (src/net/netns_setup.h).
  std::optional<NetnsSetup> netsetup;
  if (st && NeedsNetnsSetup(policy.net)) {
    auto ns = SetUpNetworkFromParent(child, policy.net, usernet ? usernet->helper() : "", &outcome.network);
    if (!ns) {
      st = std::unexpected(ns.error());
    } else {
      netsetup.emplace(std::move(*ns));
      run.layers.push_back(policy.net.mode == NetMode::kSinkhole
                               ? LayerStatus{"net-sinkhole", true, "nftables redirect; DNS, TCP and UDP answered and recorded"}
                               : LayerStatus{"net-allow-list", true, fmt::format("nftables, {} destinations", outcome.network["allow"].size())});
    }
  }
  if (!st) {
    kill_child();
    int status;
    ::waitpid(child, &status, 0);
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    return std::unexpected(st.error());
  }
  char go = 'G';
  if (::write(sync->w.get(), &go, 1) != 1) {
    kill_child();
  }
  // sync->w stays open until we return: the child takes its hang-up as "airlock is gone" (child.cc).
  outcome.setup_ms["release"] = MsSince(t_rel);

  // 6. Supervise: child exit, setup errors, forwarded signals, seccomp notifications, timeout.
  UniqueFd sigfd(::signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK));
  // The seccomp supervisor runs on its own thread (started after clone, so the child never sees it).
  std::thread supervisor;
  Result<NotifyStats> notify_stats = NotifyStats{};
  std::optional<EventSink> sink;
  std::optional<Monitor> monitor;
  NotifyHook hook;
  std::map<std::string, uint64_t> observed;  // touched only by the supervisor thread until join
  if (opts.monitor_fd >= 0) {
    sink.emplace(opts.monitor_fd, opts.monitor_queue);
    monitor.emplace(*sink, run.ids.inside_uid == 0 ? "root" : "sandbox");
  }
  std::optional<Sinkhole> sinkhole;
  if (netsetup && netsetup->tcp) {
    sinkhole.emplace(std::move(*netsetup), [&sink](const nlohmann::json& e) {
      if (sink) sink->Push(e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    });
    if (auto s = sinkhole->Start(); !s) {
      kill_child();
      run.not_enforced.push_back("network sinkhole did not start: " + s.error().What());
    }
  }
  hook = [&monitor, &observed](const NotifyEvent& ev) {
    CountFilelessExecution(ev, observed);
    return monitor ? monitor->Observe(ev) : NotifyAnswer{};
  };
  UniqueFd listener;
  UniqueFd stop_supervisor(::eventfd(0, EFD_CLOEXEC));
  std::optional<ChildErrorRecord> child_error;
  std::optional<int> payload_status;
  bool timed_out = false;
  bool child_exited = false;
  Clock::time_point t_payload_exit = Clock::now();
  const bool has_deadline = lim.timeout.has_value();
  const Clock::time_point deadline = Clock::now() + lim.timeout.value_or(std::chrono::milliseconds(0));
  int status = 0;
  struct rusage ru {};

  while (!child_exited) {
    struct pollfd fds[6];
    int nfds = 0;
    int i_pid = nfds;
    fds[nfds++] = {pidfd.get(), POLLIN, 0};
    int i_err = -1, i_status = -1, i_sig = -1, i_nsock = -1;
    if (errp->r) { i_err = nfds; fds[nfds++] = {errp->r.get(), POLLIN, 0}; }
    if (statusp->r) { i_status = nfds; fds[nfds++] = {statusp->r.get(), POLLIN, 0}; }
    if (sigfd) { i_sig = nfds; fds[nfds++] = {sigfd.get(), POLLIN, 0}; }
    if (notify_parent) { i_nsock = nfds; fds[nfds++] = {notify_parent.get(), POLLIN, 0}; }
    int timeout_ms = -1;
    if (has_deadline && !timed_out) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      timeout_ms = left < 0 ? 0 : static_cast<int>(left);
    }
    int n = ::poll(fds, static_cast<nfds_t>(nfds), timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      kill_child();
      break;
    }
    if (n == 0 && has_deadline && !timed_out) {
      timed_out = true;
      kill_child();  // SIGKILL to pid 1 kills the whole pid namespace
      if (cgroup.active()) (void)cgroup.KillAll();
      continue;
    }
    if (i_err >= 0 && fds[i_err].revents) {
      ChildErrorRecord rec{};
      ssize_t r = ::read(errp->r.get(), &rec, sizeof rec);
      if (r == static_cast<ssize_t>(sizeof rec) && !child_error) child_error = rec;
      if (r <= 0) errp->r.reset();
    }
    if (i_status >= 0 && fds[i_status].revents) {
      StatusRecord rec;
      ssize_t r = ::read(statusp->r.get(), &rec, sizeof rec);
      if (r == sizeof rec) {
        payload_status = rec.raw_status;
        t_payload_exit = Clock::now();
      }
      if (r <= 0) statusp->r.reset();
    }
    if (i_sig >= 0 && fds[i_sig].revents) {
      struct signalfd_siginfo si;
      while (::read(sigfd.get(), &si, sizeof si) == sizeof si) {
        kernel::PidfdSendSignal(pidfd.get(), static_cast<int>(si.ssi_signo));
      }
    }
    if (i_nsock >= 0 && fds[i_nsock].revents) {
      int fd = ReceiveFd(notify_parent.get());
      notify_parent.reset();
      if (fd >= 0) {
        listener.reset(fd);
        supervisor = std::thread([&notify_stats, &listener, &run, &stop_supervisor, &hook, &monitor]() {
          notify_stats = RunNotifySupervisor(listener.get(), *run.seccomp, stop_supervisor.get(), hook,
                                             [&monitor](const NotifyEvent& ev) {
                                               if (monitor) monitor->ObserveDenied(ev);
                                             });
        });
      }
    }
    if (fds[i_pid].revents) {
      if (::wait4(child, &status, 0, &ru) == child) {
        child_exited = true;
        if (payload_status) outcome.setup_ms["teardown"] = MsSince(t_payload_exit);
      }
    }
  }
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  // Drain what is left in the pipes after the child is gone.
  if (errp->r && !child_error) {
    ChildErrorRecord rec{};
    if (::read(errp->r.get(), &rec, sizeof rec) == static_cast<ssize_t>(sizeof rec)) child_error = rec;
  }
  if (statusp->r && !payload_status) {
    StatusRecord rec;
    if (::read(statusp->r.get(), &rec, sizeof rec) == sizeof rec) payload_status = rec.raw_status;
  }
  FinishNotifySupervisor(supervisor, stop_supervisor.get(), observed, notify_stats, &outcome);


  if (sinkhole) {
    sinkhole->Stop();
    outcome.network = sinkhole->Summary();
  }
  if (sink) {
    sink->Close();
    outcome.monitored = true;
    outcome.monitor_events = monitor->events();
    outcome.monitor_dropped = sink->dropped();
    if (outcome.monitor_dropped > 0) LogWarning("monitor: {} events dropped (queue full)", outcome.monitor_dropped);
  }
  // The allow-list's counters, by a helper forked once no other thread of ours runs.
  if (netsetup && netsetup->netns && policy.net.mode == NetMode::kUser) {
    auto counters = ReadAllowCountersFromParent(*netsetup);
    if (counters) outcome.network["counters"] = *counters;
    else LogWarning("{}", counters.error().What());
  }

  // 7. Outcome.
  outcome.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  outcome.user_cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6;
  outcome.system_cpu_seconds = static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6;
  outcome.peak_memory_bytes = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
  bool limit_hit = false;
  if (cgroup.active()) {
    CgroupStats cs = cgroup.Stats();
    if (cs.memory_peak_bytes) outcome.peak_memory_bytes = cs.memory_peak_bytes;
    if (cs.cpu_usage_ns) {
      // cgroup CPU covers every process, including ones init never reaped.
    }
    limit_hit = cs.oom_killed || cs.pids_limit_hit;
    (void)cgroup.Remove();
  }
  outcome.layers = run.layers;
  outcome.not_enforced.insert(outcome.not_enforced.begin(), run.not_enforced.begin(), run.not_enforced.end());
  outcome.weakenings = run.weakenings;

  EndState end;
  end.child_error = child_error;
  end.timed_out = timed_out;
  end.timeout = lim.timeout;
  end.payload_status = payload_status;
  end.init_status = status;
  end.limit_hit = limit_hit;
  end.memory_limited = cgroup.active() && lim.memory_bytes.has_value();
  end.has_seccomp = run.seccomp.has_value();
  ClassifyOutcome(end, &outcome);
  return outcome;
}

}  // namespace airlock
