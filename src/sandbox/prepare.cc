#include "sandbox/prepare.h"

#include "seccomp/program_cache.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

extern char** environ;

namespace airlock {
namespace {

void AddLayer(PreparedRun& run, std::string name, bool engaged, std::string detail) {
  run.layers.push_back({std::move(name), engaged, std::move(detail)});
}

// Namespaces: clone flags, what unshare() adds in the child, their layers and weakenings.
void PlanNamespaces(const Policy& policy, PreparedRun& run) {
  run.clone_flags = CLONE_NEWUSER | CLONE_NEWNS;
  if (policy.ns.pid) run.clone_flags |= CLONE_NEWPID;
  if (policy.ns.ipc) run.clone_flags |= CLONE_NEWIPC;
  if (policy.ns.uts) run.clone_flags |= CLONE_NEWUTS;
  if (policy.net.mode != NetMode::kHost) {
    run.clone_flags |= CLONE_NEWNET;
    run.net_loopback = true;
  }
  run.unshare_cgroup = policy.ns.cgroup;
  run.unshare_time = policy.ns.time;
  AddLayer(run, "pid-namespace", policy.ns.pid, policy.ns.pid ? "airlock init is pid 1" : "host pid namespace");
  AddLayer(run, "ipc-namespace", policy.ns.ipc, "");
  AddLayer(run, "uts-namespace", policy.ns.uts, policy.ns.uts ? "hostname " + policy.hostname : "");
  AddLayer(run, "net-namespace", policy.net.mode != NetMode::kHost, NetModeName(policy.net.mode));
  AddLayer(run, "cgroup-namespace", policy.ns.cgroup, "");
  if (policy.ns.time) AddLayer(run, "time-namespace", true, "");
  if (policy.net.mode == NetMode::kHost) run.weakenings.push_back("network: host network namespace shared (--net host)");
  if (!policy.ns.pid) run.weakenings.push_back("namespaces.pid = false: host pid namespace shared");
  if (!policy.ns.ipc) run.weakenings.push_back("namespaces.ipc = false: host IPC namespace shared");
  if (!policy.ns.uts) run.weakenings.push_back("namespaces.uts = false: host UTS namespace shared");
  if (!policy.ns.cgroup) run.weakenings.push_back("namespaces.cgroup = false: host cgroup namespace shared (host cgroup paths visible)");
}

// The idmapped binds of the plan ("/work (uid 0 gid 0)"), "" if none.
std::string IdmappedBinds(const MountPlan& plan) {
  std::string out;
  for (const MountOp& op : plan.ops)
    if (op.idmapped) out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", op.dst, op.idmap_owner);
  return out;
}

// Idmapped binds (mount_plan.h) are safe only with the seccomp setid guard: nothing the sandbox
// creates there may carry a setuid/setgid bit or a file capability of the host owner.
Status CheckSetidGuard(const Policy& policy, const PreparedRun& run, const std::string& binds) {
  const std::string fix = fmt::format("bind it read-only (--ro-bind), make it the sandbox user's (chown {}:{} DIR), or run airlock as "
                                      "an ordinary user who owns it",
                                      run.ids.outside_uid, run.ids.outside_gid);
  if (policy.seccomp.requirement == Requirement::kDisabled) {
    return MakeError(fmt::format("filesystem: {} is idmapped (as root, a read-write bind the sandbox's user does not own) "
                                 "and needs seccomp's setid guard, but seccomp is disabled: enable it, or {}", binds, fix));
  }
  if (run.seccomp && run.seccomp->allowed.contains("io_uring_setup")) {
    return MakeError(fmt::format("filesystem: {} is idmapped and needs seccomp's setid guard, which io_uring would bypass "
                                 "(the policy allows @io-uring): deny it, or {}", binds, fix));
  }
  return Ok();
}

// The seccomp program (compiled or taken from the cache) and its layer.
Status PrepareSeccomp(const Policy& policy, const RunOptions& options, PreparedRun& run) {
  const std::string idmapped = IdmappedBinds(run.mounts);
  if (policy.seccomp.requirement == Requirement::kDisabled) {
    AddLayer(run, "seccomp", false, "disabled by profile");
    run.weakenings.push_back("seccomp disabled");
  } else {
    SeccompCompileOptions sopts;
    sopts.notify_syscalls = options.notify_syscalls;
    sopts.notify_filters = options.notify_filters;
    sopts.setid_guard = !idmapped.empty();
    auto prog = CompileSeccompCached(policy.seccomp, sopts);
    if (!prog) return std::unexpected(std::move(prog.error()).WithContext("seccomp"));
    std::string detail = fmt::format("{} allow-list, {} instructions", policy.seccomp.base, prog->insns.size());
    if (!prog->allowed_back.empty()) {
      std::string joined;
      for (const auto& a : prog->allowed_back) joined += (joined.empty() ? "" : ", ") + a;
      detail += "; allowed back: " + joined;
      run.weakenings.push_back("seccomp allows back: " + joined);
    }
    run.seccomp = std::move(*prog);
    AddLayer(run, "seccomp", true, detail);
  }
  if (idmapped.empty()) return Ok();
  if (Status st = CheckSetidGuard(policy, run, idmapped); !st) return st;
  AddLayer(run, "idmapped-binds", true,
           idmapped + ": the host owner is the sandbox's user; setid guard: no setuid/setgid modes, no xattrs, no openat2");
  return Ok();
}

// A box's fuse-overlayfs daemon (mount_plan.h MountPlan::fuse_seccomp): the default allow-list, with
// no notification (nobody answers for the daemon), whatever the policy does for the payload.
Status PrepareFuseDaemonSeccomp(PreparedRun& run) {
  if (run.mounts.fuse_overlayfs.empty()) return Ok();
  SeccompPolicy daemon;
  daemon.count_denials = false;
  auto prog = CompileSeccompCached(daemon, {});
  if (!prog) return std::unexpected(std::move(prog.error()).WithContext("seccomp of the fuse-overlayfs daemon"));
  run.mounts.fuse_seccomp = prog->insns;
  return Ok();
}

// The Landlock plan for the effective mounts and its layer.
Status PrepareLandlock(const Policy& policy, PreparedRun& run) {
  auto ll = PrepareLandlockFromParent(policy, run.mounts.effective);
  if (!ll) return std::unexpected(std::move(ll.error()).WithContext("landlock"));
  run.landlock = std::move(*ll);
  AddLayer(run, "landlock", run.landlock.enabled,
           run.landlock.enabled ? fmt::format("ABI {}", run.landlock.abi)
                                : (policy.landlock.requirement == Requirement::kDisabled ? "disabled by profile"
                                                                                         : "not supported by this kernel"));
  for (const auto& n : run.landlock.not_enforced) run.not_enforced.push_back("landlock: " + n);
  if (policy.landlock.requirement == Requirement::kDisabled) run.weakenings.push_back("landlock disabled");
  return Ok();
}

// The host's PATH without the entries that are not directories inside the sandbox ("" if none is):
// they would name host paths and make every lookup fail there. Relative entries are kept.
std::string FilterHostPath(const Policy& policy, const std::string& path) {
  const InsideTree inside(policy);
  std::string out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    i = j + 1;
    if (!dir.empty() && dir[0] == '/' && !inside.HasDirectory(dir)) continue;
    out += (out.empty() ? "" : ":") + dir;
  }
  return out;
}

// The sandbox's share of its owner's per-user counters: knobs written by init through /proc,
// rlimits lowered in the payload.
void PlanUcounts(const Policy& policy, PreparedRun& run) {
  UcountNeeds needs;
  const auto lifted = [&run](const char* entry) {
    const auto& back = run.seccomp->allowed_back;
    return std::find(back.begin(), back.end(), entry) != back.end();
  };
  needs.nesting = !run.seccomp || run.seccomp->allowed.contains("unshare") || lifted("clone");
  needs.fanotify = !run.seccomp || run.seccomp->allowed.contains("fanotify_init");
  needs.time_namespace = policy.ns.time;
  needs.detached_mounts = !run.seccomp || run.seccomp->allowed.contains("open_tree") || run.seccomp->allowed.contains("fsmount");
  run.ucounts = PlanUcountLimits(needs);
  for (const UcountSysctl& s : run.ucounts.sysctls) run.mounts.proc_sys_writes.push_back({"user/" + s.name, s.value});
  std::string detail;
  for (const UcountSysctl& s : run.ucounts.sysctls)
    if (s.name == "max_inotify_instances" || s.name == "max_inotify_watches" || s.name == "max_user_namespaces")
      detail += fmt::format("{}{}={}", detail.empty() ? "" : ", ", s.name.substr(4), s.value);
  AddLayer(run, "user-counters", true, detail + " (user namespace owned by the outside uid)");
}

// The payload's own lock-down layers (capabilities, no_new_privs, session, keyring) and weakenings.
void PlanProcessLayers(const Policy& policy, PreparedRun& run) {
  if (policy.keep_capabilities) {
    AddLayer(run, "capabilities", false, "kept inside the user namespace (weaken.keep_capabilities)");
    run.weakenings.push_back("weaken.keep_capabilities: the payload keeps its capabilities inside its user namespace");
  } else {
    AddLayer(run, "capabilities", true, "all dropped (bounding, ambient, inheritable, permitted, effective)");
  }
  AddLayer(run, "no-new-privs", true, "");
  if (policy.new_session) AddLayer(run, "new-session", true, "setsid (TIOCSTI defence)");
  if (policy.new_keyring) AddLayer(run, "session-keyring", true, "fresh anonymous session keyring");
  if (!policy.new_session) run.weakenings.push_back("process.new_session = false: the payload stays in the caller's session (its terminal)");
  if (!policy.new_keyring) run.weakenings.push_back("process.new_keyring = false: the caller's session keyring is shared");
  if (!policy.die_with_parent) run.weakenings.push_back("process.die_with_parent = false: the sandbox survives airlock");
}

}  // namespace

std::vector<std::string> BuildEnvironment(const Policy& policy, const IdMapping& ids) {
  std::vector<std::string> host;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) host.emplace_back(*e);
  return BuildEnvironment(policy, ids, host);
}

std::vector<std::string> BuildEnvironment(const Policy& policy, const IdMapping& ids, const std::vector<std::string>& host) {
  std::map<std::string, std::string> env;
  for (const std::string& e : host) {
    const size_t eq = e.find('=');
    if (eq == std::string::npos) continue;
    std::string name = e.substr(0, eq);
    if (std::find(policy.env_keep.begin(), policy.env_keep.end(), name) != policy.env_keep.end()) env[name] = e.substr(eq + 1);
  }
  if (auto path = env.find("PATH"); path != env.end()) {
    path->second = FilterHostPath(policy, path->second);
    if (path->second.empty()) env.erase(path);
  }
  env["HOME"] = policy.home;
  std::string user = ids.inside_uid == 0 ? "root" : "sandbox";
  env["USER"] = user;
  env["LOGNAME"] = user;
  for (const auto& [k, v] : policy.env_set) env[k] = v;
  if (!env.count("PATH")) env["PATH"] = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

std::vector<std::string> ExecCandidates(const std::string& c, const std::vector<std::string>& env) {
  std::vector<std::string> out;
  if (c.find('/') != std::string::npos) {
    out.push_back(c);
    return out;
  }
  std::string path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    if (dir.empty()) dir = ".";
    out.push_back(dir + "/" + c);
    i = j + 1;
  }
  return out;
}

Result<std::string> PrepareExecForInit(const Policy& policy, const IdMapping& ids, ExecMessage request) {
  if (request.argv.empty() || request.argv[0].empty()) return MakeError("no command given");
  request.env = BuildEnvironment(policy, ids, request.env);
  request.exec = ExecCandidates(request.argv[0], request.env);
  std::string msg = EncodeExec(kExecInitMagic, request);
  if (request.argv.size() + request.env.size() + request.exec.size() > kMaxExecStrings) {
    return MakeError(fmt::format("more than {} arguments, variables and search paths", kMaxExecStrings));
  }
  if (msg.size() > kMaxExecMessage) {
    return MakeError(fmt::format("the command, its environment and search path take {} bytes; airlock exec takes at most {}",
                                 msg.size(), kMaxExecMessage));
  }
  return msg;
}

Result<std::unique_ptr<PtyRelay>> PrepareTerminal(const Policy& policy, std::vector<LayerStatus>* layers,
                                                  std::vector<std::string>* weakenings) {
  if (policy.host_terminal) {
    if (::isatty(0) || ::isatty(1) || ::isatty(2)) {
      weakenings->push_back(
          "host_terminal: the sandbox holds your terminal itself: it can read what you type and change its modes, "
          "O_NONBLOCK, exclusive mode and window size, which stay changed after the run");
    }
    return std::unique_ptr<PtyRelay>();
  }
  auto relay = PtyRelay::OpenFromParent();
  if (!relay) return std::unexpected(std::move(relay.error()).WithContext("terminal"));
  if (*relay) layers->push_back({"private-terminal", true, (*relay)->Describe()});
  return relay;
}

Result<PreparedRun> PrepareRun(const Policy& policy, const std::vector<std::string>& cmd, const RunOptions& options) {
  if (cmd.empty()) return MakeError("no command given");
  // AIRLOCK_TRACE_SETUP=1: the parent's preparation steps, like the child's (child.cc TraceStep).
  const char* trace = getenv("AIRLOCK_TRACE_SETUP");
  const bool tracing = trace != nullptr && trace[0] == '1';
  const auto t_start = std::chrono::steady_clock::now();
  auto mark = [&](const char* step) {
    if (!tracing) return;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t_start).count();
    fmt::print(stderr, "airlock: prepare +{}us {}\n", us, step);
  };
  PreparedRun run;
  run.policy = policy;
  run.trace_steps = tracing;

  auto ids = PlanIdMapping(policy.identity);
  if (!ids) return std::unexpected(ids.error());
  run.ids = *ids;
  AddLayer(run, "user-namespace", true,
           fmt::format("inside {}:{} -> outside {}:{}", ids->inside_uid, ids->inside_gid, ids->outside_uid, ids->outside_gid));

  auto mounts = BuildMountPlan(policy, run.ids);
  if (!mounts) return std::unexpected(std::move(mounts.error()).WithContext("filesystem"));
  run.mounts = std::move(*mounts);
  if (Status st = StageIdmappedLayersFromParent(run.mounts, run.ids); !st) return std::unexpected(st.error());
  if (auto binds = StageIdmappedBindsFromParent(run.mounts, run.ids); !binds) {
    return std::unexpected(std::move(binds.error()).WithContext("filesystem"));
  }
  AddLayer(run, "mount-namespace", true, fmt::format("tmpfs root, {} mount operations, pivot_root", run.mounts.ops.size()));
  mark("id mapping, mount plan");

  PlanNamespaces(policy, run);
  if (Status st = PrepareSeccomp(policy, options, run); !st) return std::unexpected(st.error());
  if (Status st = PrepareFuseDaemonSeccomp(run); !st) return std::unexpected(st.error());
  mark("seccomp program");
  if (Status st = PrepareLandlock(policy, run); !st) return std::unexpected(st.error());
  mark("landlock plan");
  PlanUcounts(policy, run);
  run.title = FindProcTitleArea();
  mark("user counters, process title");
  // Identity and process
  run.hostname = policy.hostname;
  run.chdir = policy.chdir.value_or(policy.home);
  PlanProcessLayers(policy, run);

  run.argv_storage = cmd;
  for (auto& a : run.argv_storage) run.argv.push_back(a.data());
  run.argv.push_back(nullptr);
  run.env_storage = BuildEnvironment(policy, run.ids);
  for (auto& e : run.env_storage) run.envp.push_back(e.data());
  run.envp.push_back(nullptr);

  run.exec_candidates = ExecCandidates(cmd[0], run.env_storage);

  for (int fd : policy.pass_fds) {
    if (fd <= 2) return MakeError(fmt::format("--pass-fd {}: stdio is always passed", fd));
    if (::fcntl(fd, F_GETFD) < 0) return ErrnoError(fmt::format("--pass-fd {}", fd));
    run.pass_fds.push_back(fd);
  }
  std::sort(run.pass_fds.begin(), run.pass_fds.end());
  mark("argv, environment, exec candidates");
  return run;
}

}  // namespace airlock
