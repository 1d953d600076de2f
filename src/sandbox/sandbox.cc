#include "sandbox/sandbox.h"

#include <sys/resource.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "cgroup/cgroup.h"
#include "core/json_text.h"
#include "core/log.h"
#include "monitor/monitor.h"
#include "net/allow_resolver.h"
#include "net/net.h"
#include "net/netns_setup.h"
#include "net/sinkhole.h"
#include "sandbox/child.h"
#include "sandbox/classify.h"
#include "sandbox/launcher.h"
#include "sandbox/limits.h"
#include "sandbox/supervisor.h"
#include "userns/userns.h"

namespace airlock {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace

void RecordCgroupEnd(Cgroup& cgroup, RunOutcome* outcome, EndState* end) {
  if (!cgroup.active()) return;
  CgroupStats cs = cgroup.Stats();
  if (cs.memory_peak_bytes) outcome->peak_memory_bytes = cs.memory_peak_bytes;
  end->limit_hit = cs.oom_killed || cs.pids_limit_hit;
  const auto& enforced = cgroup.enforced();
  end->memory_limited = !cs.oom_counted && std::find(enforced.begin(), enforced.end(), "memory") != enforced.end();
  if (auto s = cgroup.Remove(); !s) LogWarning("{}", s.error().What());
}

namespace {

// What the parent sets up for the child from outside, once it has the child's pid.
struct ParentSide {
  std::optional<UserNet> usernet;
  std::optional<NetnsSetup> netsetup;
};

HelperStatus ToHelperStatus(const HelperReport& r) {
  return {r.name, r.uid, r.sandboxed, r.seccomp, r.no_new_privs, r.capabilities, r.detail};
}

// The network's layer as the report names it.
LayerStatus NetLayer(const NetPolicy& net, const nlohmann::json& summary) {
  if (net.mode == NetMode::kSinkhole) return {"net-sinkhole", true, "nftables redirect; DNS, TCP and UDP answered and recorded"};
  if (net.allow.empty()) {
    return {"net-host-filter", true, fmt::format("nftables, {} host addresses refused", summary["host_addresses_refused"].size())};
  }
  return {"net-allow-list", true, fmt::format("nftables, {} destinations; DNS: airlock's resolver, allowed names only", summary["allow"].size())};
}

// uid maps, cgroup membership, user-mode network; routes, nftables and the sinkhole's or the
// resolver's sockets (src/net/netns_setup.h). Both network helpers run as the sandbox's user.
// (A cgroup that init joined at launch, LaunchCold's joined_cgroup, is not attached again.)
Status SetUpFromParent(const Policy& policy, pid_t child, PreparedRun& run, Cgroup* attach, ParentSide* side,
                       RunOutcome* outcome) {
  if (Status st = WriteIdMapsFromParent(child, run.ids); !st) return st;
  if (attach != nullptr && attach->active()) {
    if (Status st = attach->Attach(child); !st) return st;
  }
  HelperIdentity who{run.ids.inside_uid, run.ids.inside_gid, run.ids.outside_uid};
  if (policy.net.mode == NetMode::kUser) {
    auto un = StartUserNetFromParent(child, policy.net, who);
    if (!un) return std::unexpected(std::move(un.error()).WithContext("--net user"));
    side->usernet.emplace(std::move(*un));
    run.layers.push_back({"user-network", true, side->usernet->helper()});
    outcome->helpers.push_back(ToHelperStatus(side->usernet->report()));
  }
  if (NeedsNetnsSetup(policy.net)) {
    auto ns = SetUpNetworkFromParent(child, policy.net, who, &outcome->network);
    if (!ns) return std::unexpected(ns.error());
    side->netsetup.emplace(std::move(*ns));
    if (side->usernet) outcome->network["helper"] = side->usernet->helper();
    run.layers.push_back(NetLayer(policy.net, outcome->network));
    outcome->helpers.push_back(ToHelperStatus(side->netsetup->helper));
  }
  return Ok();
}

// What a cold run watches besides the sandbox itself: the behaviour monitor (fed by the seccomp
// thread, as the supervisor's observer) and the network sinkhole, both writing to one event sink.
class RunWatchers final : public SupervisorObserver {
 public:
  // After the release: the sink and monitor (monitor_fd >= 0), the sinkhole (the network setup made
  // one; it takes the sockets). A sinkhole that does not start ends the run (init is killed).
  void Start(const RunOptions& opts, PreparedRun& run, std::optional<NetnsSetup>& netsetup, SandboxProcess& init) {
    if (opts.monitor_fd >= 0) {
      sink_.emplace(opts.monitor_fd, opts.monitor_queue);
      monitor_.emplace(*sink_, run.ids.inside_uid == 0 ? "root" : "sandbox");
      monitor_->SetPayloadCommand(run.argv_storage, run.exec_candidates, run.chdir);
    }
    if (netsetup && netsetup->resolver) {
      resolver_.emplace(std::move(netsetup->resolver), std::move(netsetup->resolver_names));
      if (auto s = resolver_->Start(); !s) {
        init.Kill();
        run.not_enforced.push_back("the allow-list resolver did not start: " + s.error().What());
      }
    }
    if (netsetup && netsetup->tcp) {
      sinkhole_.emplace(
          std::move(*netsetup), [this](const nlohmann::json& e) {
            if (sink_) sink_->Push(DumpJson(e));
          },
          opts.net_pcap);
      if (auto s = sinkhole_->Start(); !s) {
        init.Kill();
        run.not_enforced.push_back("network sinkhole did not start: " + s.error().What());
      }
    }
  }
  NotifyAnswer OnNotify(const NotifyEvent& ev) override { return monitor_ ? monitor_->Observe(ev) : NotifyAnswer{}; }
  void OnDeniedNotify(const NotifyEvent& ev) override {
    if (monitor_) monitor_->ObserveDenied(ev);
  }
  // After the seccomp thread was joined: the sinkhole's summary and the monitor's counts.
  void Finish(RunOutcome* outcome) {
    if (resolver_) {
      resolver_->Stop();
      outcome->network["dns"] = resolver_->Summary();
    }
    if (sinkhole_) {
      sinkhole_->Stop();
      outcome->network = sinkhole_->Summary();
    }
    if (sink_) {
      sink_->Close();
      outcome->monitored = true;
      outcome->monitor_events = monitor_->events();
      outcome->monitor_dropped = sink_->dropped();
      if (outcome->monitor_dropped > 0) LogWarning("monitor: {} events dropped (queue full)", outcome->monitor_dropped);
    }
  }

 private:
  std::optional<EventSink> sink_;
  std::optional<Monitor> monitor_;
  std::optional<Sinkhole> sinkhole_;
  std::optional<AllowResolver> resolver_;
};

// What the supervisor of a cold run watches and serves besides init.
SupervisorOptions ColdSupervision(const Policy& policy, const PreparedRun& run, Cgroup& cgroup, RunWatchers& watchers,
                                  PtyRelay* terminal) {
  SupervisorOptions so;
  so.timeout = policy.limits.timeout;
  so.cgroup = &cgroup;
  so.program = run.seccomp ? &*run.seccomp : nullptr;
  so.lazy_notify_thread = true;  // as warm: most runs never trigger a notification, and a thread is not free
  so.observer = &watchers;
  so.terminal = terminal;
  return so;
}

// The argv/envp/exec pointers the payload execs, pointing into run.
struct ExecSpec {
  explicit ExecSpec(const PreparedRun& run) {
    for (const auto& c : run.exec_candidates) exec.push_back(c.c_str());
    spec.argv = run.argv.data();
    spec.envp = run.envp.data();
    spec.exec = exec.data();
    spec.execc = exec.size();
  }
  std::vector<const char*> exec;
  PayloadSpec spec;
};

// LaunchCold, with init joining the run's cgroup by itself (cgroup.h OpenForJoin) when there is one.
Result<ColdLaunched> LaunchInCgroup(const PreparedRun& run, const PayloadSpec& spec, const sigset_t& mask,
                                    const Cgroup& cgroup) {
  Cgroup::JoinFds fds;
  if (cgroup.active()) {
    auto opened = cgroup.OpenForJoin();
    if (!opened) return std::unexpected(opened.error());
    fds = std::move(*opened);
  }
  std::vector<int> v1_tasks;
  for (const UniqueFd& fd : fds.v1_tasks) v1_tasks.push_back(fd.get());
  return LaunchCold(run, spec, mask, {v1_tasks.data(), v1_tasks.size(), fds.v2_dir.get()});
}

// Resource use, the cgroup's verdict, the layers and the classification of how the run ended.
void RecordEnd(const Policy& policy, const PreparedRun& run, const ClonedInit& init, Cgroup& cgroup, const Supervised& sup,
               Clock::time_point t0, RunOutcome* outcome) {
  const struct rusage& ru = init.usage();
  if (sup.payload && sup.payload_exit <= init.exited_at()) {
    outcome->setup_ms["teardown"] = std::chrono::duration<double, std::milli>(init.exited_at() - sup.payload_exit).count();
  }
  outcome->wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  outcome->user_cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6;
  outcome->system_cpu_seconds = static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6;
  outcome->peak_memory_bytes = static_cast<uint64_t>(ru.ru_maxrss) * 1024;
  EndState end;
  RecordCgroupEnd(cgroup, outcome, &end);  // cgroup figures cover every process, also ones init never reaped
  outcome->layers = run.layers;
  outcome->bounds = run.bounds;
  outcome->not_enforced.insert(outcome->not_enforced.begin(), run.not_enforced.begin(), run.not_enforced.end());
  outcome->weakenings = run.weakenings;
  end.child_error = sup.child_error;
  end.timed_out = sup.timed_out;
  end.timeout = policy.limits.timeout;
  if (sup.payload) end.payload_status = sup.payload->raw_status;
  end.init_status = init.status().value_or(0);
  end.has_seccomp = run.seccomp.has_value();
  end.interrupt_signal = sup.interrupt_signal;
  end.killed_on_interrupt = sup.killed_on_interrupt;
  ClassifyOutcome(end, outcome);
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
  auto opts = EffectiveRunOptions(policy, options);
  if (!opts) return std::unexpected(opts.error());
  auto prepared = PrepareRun(policy, cmd, *opts);
  if (!prepared) return std::unexpected(prepared.error());
  PreparedRun& run = *prepared;
  outcome.setup_ms["prepare"] = MsSince(t0);

  // 2. Limits: cgroup where possible, rlimit fallback where allowed.
  auto t_cg = Clock::now();
  auto cgroup = SetUpLimitsFromParent(policy.limits, run);
  if (!cgroup) return std::unexpected(cgroup.error());
  outcome.setup_ms["cgroup"] = MsSince(t_cg);

  // 3. Launch: clone init. The private terminal first (its slave goes into the sandbox with the clone;
  // the caller's terminal is restored when `terminal` goes, on every path). The supervisor blocks the
  // forwarded signals, so none is lost.
  auto terminal = PrepareTerminal(policy, &run.layers, &run.weakenings);
  if (!terminal) return std::unexpected(terminal.error());
  PtyRelay* tty = terminal->get();
  run.terminal = tty != nullptr ? tty->stdio() : StdioTerminal{};
  RunWatchers watchers;
  SupervisorOptions so = ColdSupervision(policy, run, *cgroup, watchers, tty);
  so.kill_on_interrupt = opts->kill_on_interrupt;
  so.control_fd = opts->control_fd;
  so.exec = [&policy, &run](ExecMessage m) { return PrepareExecForInit(policy, run.ids, std::move(m)); };
  Supervisor supervisor(std::move(so));
  ExecSpec exec(run);
  auto t_clone = Clock::now();
  auto launched = LaunchInCgroup(run, exec.spec, supervisor.saved_mask(), *cgroup);
  if (!launched) return std::unexpected(launched.error());
  ClonedInit& init = launched->init;
  if (tty != nullptr) tty->ReleaseSlave();
  supervisor.IgnoreSigpipe();  // a closed monitor or report pipe must not kill us
  outcome.setup_ms["clone"] = MsSince(t_clone);

  // 4. From outside: uid maps, cgroup membership, network; then release the child.
  auto t_rel = Clock::now();
  ParentSide side;
  Status st = SetUpFromParent(policy, init.pid(), run, launched->joined_cgroup ? nullptr : &*cgroup, &side, &outcome);
  if (st && tty != nullptr) st = tty->Start();  // the relay (raw mode) only for a sandbox about to run
  if (!st) {
    init.KillAndReap();
    return std::unexpected(st.error());
  }
  if (!init.Release()) init.Kill();
  outcome.setup_ms["release"] = MsSince(t_rel);
  if (opts->late_control) supervisor.SetControl(opts->late_control());  // while the child builds its sandbox
  // Cgroups left by SIGKILLed airlocks: collected while the child builds its sandbox, off the launch
  // path (the run's own cgroup is leased and ours, so never touched).
  if (cgroup->active()) GarbageCollectStaleCgroups();

  // 5. Supervise: init's exit, setup errors, forwarded signals, seccomp notifications, timeout.
  watchers.Start(*opts, run, side.netsetup, init);
  Supervised sup = supervisor.Run(init, launched->channels);
  supervisor.Finish(&outcome);
  watchers.Finish(&outcome);
  // The filter's counters (host block / allow-list), by a helper forked once no other thread of ours runs.
  if (side.netsetup && side.netsetup->netns && policy.net.mode == NetMode::kUser) {
    auto counters = ReadAllowCountersFromParent(*side.netsetup);
    if (counters) outcome.network["counters"] = *counters;
    else LogWarning("{}", counters.error().What());
  }

  // 6. Outcome.
  RecordEnd(policy, run, init, *cgroup, sup, t0, &outcome);
  return outcome;
}

}  // namespace airlock
