// airlock run: profile + command-line overrides -> validated policy -> RunSandbox -> exit code/report.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <variant>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/running.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/unique_fd.h"
#include "mount/mount_plan.h"
#include "policy/policy_overrides.h"
#include "policy/profile_loader.h"
#include "pool/pool.h"
#include "rlimit/rlimit.h"
#include "sandbox/sandbox.h"
#include "seccomp/program_cache.h"

namespace airlock::cli {
namespace {

struct RunArgs {
  ReportClock clock;  // when this airlock run started (the report's envelope)
  std::string profile = "default";
  std::string name;  // --name (`airlock ps`, `airlock stop NAME`)
  std::string box;   // the box of `airlock box run`, or ""
  PolicyOverrides o;  // the flags that change the policy (policy/policy_overrides.h)
  bool explain = false;
  std::string report;
  std::string monitor;
  bool monitor_reads = false;
  std::string on_interrupt = "forward";
  bool verbose = false;
  std::string pool = "auto";
  std::string net_pcap;  // --net-pcap FILE (with --net sinkhole)
  std::vector<std::string> command;
};

std::string Cwd() {
  char buf[4096];
  return getcwd(buf, sizeof buf) ? std::string(buf) : std::string("/");
}

Status ApplyRunOverrides(Policy& p, const RunArgs& a) {
  return ApplyOverrides(p, a.o, a.o.workdir ? Cwd() : std::string(), ParseRlimitSpec);
}

// Options that change the sandbox itself (everything else is applied by the client: environment,
// timeout, report, verbosity).
bool ChangesThePolicy(const RunArgs& a) {
  return a.o.ChangesSandbox() || !a.monitor.empty() || a.monitor_reads || a.explain || !a.net_pcap.empty();
}

// The run's entry in the registry of running sandboxes (cli/running.h), its control socket handed to
// the supervisor, kept in *entry. With --name the entry is made now: the name must be ours before the
// sandbox starts, and a taken or invalid name fails the run (*rc). Without one it is made once the
// sandbox is on its way (RunOptions::late_control), and one that cannot be written is a warning: the
// run goes on, unlisted.
void Register(const RunArgs& a, const Policy& policy, RunOptions& options, std::optional<Registration>* entry, int* rc) {
  RunningRecord rec;
  rec.name = a.name;
  rec.command = a.command;
  rec.profile = a.profile;
  rec.net = NetModeName(policy.net.mode);
  rec.box = a.box;
  auto make = [entry, rec = std::move(rec)]() -> Status {
    if (*entry) return Ok();  // a warm run the pool declined goes cold with the same entry
    auto reg = Registration::Create(rec);
    if (!reg) return std::unexpected(reg.error());
    entry->emplace(std::move(*reg));
    return Ok();
  };
  if (a.name.empty()) {
    options.late_control = [entry, make = std::move(make)]() {
      if (auto s = make(); !s) LogWarning("{} (this run is not listed by `airlock ps`)", s.error().What());
      return *entry ? (*entry)->control_fd() : -1;
    };
    return;
  }
  if (auto s = make(); !s) {
    LogError("{}", s.error().What());
    *rc = kExitUsage;
    return;
  }
  options.control_fd = (*entry)->control_fd();
}

// The pool's fast path (src/pool/pool.h): a built-in profile, nothing that changes it, a pool that
// published it. Returns nullopt when the run must take the full path.
std::optional<Result<RunOutcome>> TryFastWarm(const RunArgs& a, const std::string& socket) {
  if (a.pool == "off" || a.command.empty() || ChangesThePolicy(a)) return std::nullopt;
  std::string key = pool::BuiltinFastKey(a.profile);
  if (key.empty()) return std::nullopt;
  auto policy = pool::ReadPublishedPolicy(socket, key);
  if (!policy) {
    LogDebug("pool fast path: {}", policy.error().What());
    return std::nullopt;
  }
  // Client-side options only (ChangesThePolicy is false): environment and timeout.
  if (auto s = ApplyRunOverrides(*policy, a); !s) return std::nullopt;
  RegisterBuiltinSeccompPrograms();
  if (const char* t = std::getenv("AIRLOCK_TRACE_SETUP"); t != nullptr && t[0] == '1') {
    std::fputs("airlock: warm fast path: built-in profile as published by the pool, not loaded\n", stderr);
  }
  std::string why;
  RunOptions options;
  options.kill_on_interrupt = a.on_interrupt == "kill";
  int rc = 0;
  std::optional<Registration> registration;
  Register(a, *policy, options, &registration, &rc);
  if (rc != 0) return std::nullopt;  // --name taken: the full path says so and exits 121
  auto outcome = pool::RunWarm(*policy, a.command, options, socket, key, &why);
  if (!outcome) LogDebug("pool fast path: {}", why);
  return outcome;
}

// What a run returned -> airlock's exit code: the one line for airlock's own failures, --report.
int FinishRun(const Result<RunOutcome>& outcome, const RunArgs& a) {
  const std::string& report = a.report;
  RunOutcome o;
  if (!outcome) {
    o.reason = OutcomeReason::kSetupError;
    o.error = outcome.error().What();
    const std::string& m = o.error;
    o.exit_code = (m.find("clone") != std::string::npos || m.find("needs a writable cgroup") != std::string::npos ||
                   m.find("Landlock ABI") != std::string::npos)
                      ? kExitUnsupported
                      : kExitSetup;
    LogError("{}", o.error);
  } else {
    o = *outcome;
    if (o.reason == OutcomeReason::kSetupError || o.reason == OutcomeReason::kTimeout ||
        o.reason == OutcomeReason::kKilledByLimit || (o.interrupt_signal != 0 && !o.error.empty())) {
      LogError("{}", o.error);
    }
  }
  if (!report.empty()) {
    std::string text = DumpJson(OutcomeToJson(o, a.box.empty() ? "run" : "box run", a.clock), 2) + "\n";
    if (report == "-") {
      std::fputs(text.c_str(), stderr);
    } else {
      std::ofstream f(report, std::ios::trunc);
      f << text;
      if (!f) LogError("cannot write report {}", report);
    }
  }
  return o.exit_code;
}

// The common invocation, parsed without building CLI11's parser (a tenth of a millisecond on a launch
// that a warm sandbox finishes in ~2 ms): `run [-p|--profile NAME] [--pool MODE] -- CMD [ARGS...]`.
// Anything else returns nullopt and goes through the full parser.
std::optional<RunArgs> QuickParse(int argc, char** argv) {
  RunArgs a;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view opt, std::string* out) {
      if (arg == opt && i + 1 < argc) {
        *out = argv[++i];
        return true;
      }
      if (arg.size() > opt.size() + 1 && arg.substr(0, opt.size()) == opt && arg[opt.size()] == '=') {
        *out = std::string(arg.substr(opt.size() + 1));
        return true;
      }
      return false;
    };
    if (arg == "--") {
      for (int k = i + 1; k < argc; ++k) a.command.emplace_back(argv[k]);
      if (a.command.empty() || (a.pool != "auto" && a.pool != "required")) return std::nullopt;
      return a;
    }
    if (value("--profile", &a.profile) || value("-p", &a.profile) || value("--pool", &a.pool)) continue;
    return std::nullopt;
  }
  return std::nullopt;
}


// `--bind SRC:DST` (the form profiles and bubblewrap users reach for) rewritten as `--bind SRC DST`,
// for --bind, --ro-bind and --dev-bind, split at the last ":/" (the destination is absolute). A
// two-word form whose destination is missing or looks like an option ("--") is a usage error that
// names both forms. Words after "--" are the command's and are left alone.
Result<std::vector<std::string>> ExpandBindForms(int argc, char** argv) {
  std::vector<std::string> out(argv, argv + argc);
  for (size_t i = 1; i < out.size() && out[i] != "--"; ++i) {
    std::string opt = out[i], value;
    const bool joined = opt.find('=') != std::string::npos;
    if (joined) {
      value = opt.substr(opt.find('=') + 1);
      opt = opt.substr(0, opt.find('='));
    }
    if (opt != "--bind" && opt != "--ro-bind" && opt != "--dev-bind") continue;
    if (!joined) {
      if (i + 1 >= out.size()) break;  // CLI11 reports the missing value
      value = out[i + 1];
    }
    const size_t next = joined ? i + 1 : i + 2;
    const bool has_dst = !joined && next < out.size() && !out[next].empty() && out[next][0] != '-';
    const size_t split = value.rfind(":/");
    if (!has_dst && split != std::string::npos && split > 0) {
      out.erase(out.begin() + static_cast<long>(i), out.begin() + static_cast<long>(next));
      out.insert(out.begin() + static_cast<long>(i), {opt, value.substr(0, split), value.substr(split + 1)});
      i += 2;
    } else if (!has_dst) {
      return MakeError(fmt::format("{} {}: a destination is needed: {} SRC DST, or {} SRC:DST", opt, value, opt, opt));
    } else {
      i += 2;
    }
  }
  return out;
}

// Every flag of `airlock run`, bound to `a`.
void AddRunOptions(CLI::App& app, RunArgs& a) {
  app.footer(
      "Exit status: the command's status (128+N if killed by signal N); 121 usage, 122 profile error,\n"
      "123 required kernel feature missing, 124 timeout, 125 setup failed, 126 not executable, 127 not found.\n"
      "Examples:\n"
      "  airlock run -- /bin/sh -c 'id; ls /'\n"
      "  airlock run --profile workdir --memory 512m --pids 128 --timeout 60s -- make test\n"
      "  airlock run --explain --profile network -- curl https://example.org");
  app.add_option("-p,--profile", a.profile, "built-in profile name or TOML file (default: default)");
  app.add_option("--name", a.name, "a name for this sandbox, unique among yours while it runs (`airlock ps`, `airlock stop NAME`)");
  app.add_option("--bind", a.o.bind, "bind SRC read-write at DST")->type_size(2)->allow_extra_args(false);
  app.add_option("--ro-bind", a.o.ro_bind, "bind SRC read-only at DST")->type_size(2)->allow_extra_args(false);
  app.add_option("--dev-bind", a.o.dev_bind, "bind a device node SRC at DST (explicit)")->type_size(2)->allow_extra_args(false);
  app.add_option("--tmpfs", a.o.tmpfs, "mount a tmpfs at DST[:SIZE]")->allow_extra_args(false);
  app.add_option("--chdir", a.o.chdir, "working directory inside the sandbox");
  app.add_flag("--workdir", a.o.workdir, "bind the current directory read-write at the same path and chdir there");
  app.add_option("--net", a.o.net, "network: none (default), host (shares the host network: weakening), user, sinkhole (DNS and every connection answered and recorded locally)");
  app.add_option("--net-pcap", a.net_pcap, "with --net sinkhole: write its traffic (DNS, every connection and datagram) as PCAP to FILE, a new file")
      ->type_name("FILE");
  app.add_option("--net-allow", a.o.net_allow, "allowed destination HOST:PORT for --net user (repeatable)")->allow_extra_args(false);
  app.add_option("--listen", a.o.listen, "TCP port the sandbox may listen on in its own network namespace (repeatable)")->allow_extra_args(false);
  app.add_option("--tmp-size", a.o.tmp_size, "size of the private /tmp, e.g. 256m");
  app.add_option("--shm-size", a.o.shm_size, "size of the private /dev/shm");
  app.add_option("--home-size", a.o.home_size, "size of the private home directory");
  app.add_option("--tmpfs-inodes", a.o.tmpfs_inodes, "inodes (files) of each writable tmpfs: /tmp, /dev/shm, home, --tmpfs");
  app.add_option("--memory", a.o.memory, "memory limit: 512m, 25% (of the host's RAM), min(25%, 4g) or unlimited");
  app.add_option("--pids", a.o.pids, "maximum number of processes and threads, or unlimited");
  app.add_option("--cpu", a.o.cpu, "CPU limit in CPUs, e.g. 0.5");
  app.add_option("--timeout", a.o.timeout, "kill the whole sandbox after this long, e.g. 30s");
  app.add_option("--rlimit", a.o.rlimits, "NAME=VALUE resource limit (nofile=1024, core=0, ...)")->allow_extra_args(false);
  app.add_option("--setenv", a.o.setenv, "KEY=VALUE set in the sandbox environment")->allow_extra_args(false);
  app.add_option("--keep-env", a.o.keep_env, "keep this variable from the caller's environment")->allow_extra_args(false);
  app.add_option("--pass-fd", a.o.pass_fds, "keep this inherited file descriptor open")->allow_extra_args(false);
  app.add_flag("--host-terminal", a.o.host_terminal,
               "give the sandbox your terminal itself instead of a pseudo-terminal of its own (weakening: it can "
               "read what you type and leave the terminal's modes changed)");
  app.add_option("--hostname", a.o.hostname, "hostname inside the sandbox");
  app.add_option("--uid", a.o.uid, "uid inside the sandbox");
  app.add_option("--gid", a.o.gid, "gid inside the sandbox");
  app.add_option("--allow", a.o.allow, "allow a seccomp group (@ptrace) or syscall back (weakening)")->allow_extra_args(false);
  app.add_option("--deny", a.o.deny, "deny a seccomp group or syscall in addition")->allow_extra_args(false);
  app.add_option("--landlock", a.o.landlock, "required, best-effort or disabled");
  app.add_flag("--explain", a.explain, "print the effective policy and exit");
  app.add_option("--report", a.report, "write a JSON report of the run to FILE ('-' for stderr)");
  app.add_option("--monitor", a.monitor, "stream behaviour events as JSON lines to FILE ('-' for stdout); docs/EVENTS.md");
  app.add_flag("--monitor-reads", a.monitor_reads,
               "with --monitor: also report read-only opens and plain mode/time changes (slower; docs/EVENTS.md)");
  app.add_option("--on-interrupt", a.on_interrupt,
                 "forward (default): SIGINT, SIGTERM and SIGHUP to airlock are passed to the command; kill: they kill "
                 "the whole sandbox at once. Either way --report says \"interrupted\"")
      ->check(CLI::IsMember({"forward", "kill"}));
  app.add_option("--pool", a.pool,
                 "auto (default): start in a warm sandbox of `airlock pool` when one serves this policy, else cold; "
                 "off: always cold; required: fail (123) unless served warm")
      ->check(CLI::IsMember({"auto", "off", "required"}));
  app.add_flag("-v,--verbose", a.verbose, "log each setup step");
  app.add_option("command", a.command, "the command and its arguments, after --");
  app.positionals_at_end(true);
}

// --monitor FILE ('-' = stdout), or the variant's own events descriptor, into run_options; an exit
// code when the flags are unusable.
std::optional<int> OpenMonitor(const RunArgs& a, const RunVariant* variant, UniqueFd& monitor_file, RunOptions& run_options) {
  if (variant && variant->monitor_fd >= 0) {
    if (!a.monitor.empty()) {
      LogError("--monitor is not accepted here: {}", variant->monitor_owner);
      return kExitUsage;
    }
    run_options.monitor_fd = variant->monitor_fd;
    run_options.monitor_reads = a.monitor_reads;
    return std::nullopt;
  }
  if (a.monitor.empty()) {
    if (!a.monitor_reads) return std::nullopt;
    LogError("--monitor-reads needs --monitor");
    return kExitUsage;
  }
  if (a.monitor == "-") {
    monitor_file.reset(::dup(STDOUT_FILENO));
  } else {
    monitor_file.reset(::open(a.monitor.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  }
  if (!monitor_file) {
    LogError("--monitor {}: {}", a.monitor, strerror(errno));
    return kExitUsage;
  }
  ::fcntl(monitor_file.get(), F_SETFD, FD_CLOEXEC);
  run_options.monitor_fd = monitor_file.get();
  run_options.monitor_reads = a.monitor_reads;
  return std::nullopt;
}

// What this caller makes of each mount, for --explain: which read-write binds a root caller's sandbox
// gets idmapped (mount/mount_plan.h).
std::vector<std::string> MountNotes(const Policy& policy) {
  std::vector<std::string> notes;
  auto ids = PlanIdMapping(policy.identity);
  if (!ids) return notes;
  const std::vector<BindIdmap> decisions = PlanBindIdmaps(policy, *ids);
  for (size_t i = 0; i < decisions.size(); ++i) notes.push_back(DescribeBindIdmap(decisions[i], policy.mounts[i].src));
  return notes;
}

// The profile with the flags applied and validated (--explain printed here), or an exit code.
std::variant<Policy, int> EffectivePolicy(const RunArgs& a, const RunVariant* variant) {
  auto policy = LoadProfile(a.profile, Cwd());
  if (!policy) {
    LogError("{}", policy.error().What());
    return kExitProfile;
  }
  if (auto s = ApplyRunOverrides(*policy, a); !s) {
    LogError("{}", s.error().What());
    return kExitUsage;
  }
  if (variant && variant->adjust) {
    if (auto s = variant->adjust(*policy); !s) {
      LogError("{}", s.error().What());
      return kExitProfile;
    }
  }
  if (auto s = ValidatePolicy(*policy); !s) {
    LogError("{}", s.error().What());
    return kExitProfile;
  }
  return std::move(*policy);
}

// What to do about a command the sandbox did not find, from what the host has and the policy mounts
// ("" when there is nothing useful to say): appended to "command not found inside the sandbox: CMD".
std::string NotFoundHint(const Policy& policy, const std::string& cmd) {
  auto mounted = [&policy](const std::string& dst) {
    return std::any_of(policy.mounts.begin(), policy.mounts.end(), [&dst](const MountEntry& m) { return m.dst == dst; });
  };
  struct stat st {};
  if (cmd.find('/') == std::string::npos) {
    if (!mounted("/usr")) return " (the policy mounts nothing at /usr: a profile of your own needs include = [\"default\"], or add --ro-bind /usr /usr)";
    return " (not on the sandbox's PATH, which sees /usr and what the profile binds: name it by its path, or bind its directory with --ro-bind DIR DIR)";
  }
  const std::string cwd = Cwd();
  if (cmd[0] != '/') {
    if (::stat(cmd.c_str(), &st) != 0 || mounted(cwd)) return "";
    return fmt::format(" ({} is in the host's {}, which the sandbox does not see: --workdir binds the current directory read-write "
                       "and runs there, --ro-bind {} {} shows it read-only)", cmd, cwd, cwd, cwd);
  }
  if (::stat(cmd.c_str(), &st) != 0) return "";
  const std::string dir = cmd.substr(0, std::max<size_t>(cmd.rfind('/'), 1));
  return fmt::format(" ({} exists on the host but the sandbox does not see it: --ro-bind {} {})", cmd, dir, dir);
}

// A warm sandbox of a pool serving this exact policy unless --pool off, else a cold one.
int RunPolicy(const Policy& policy, const RunArgs& a, RunOptions run_options, const std::string& pool_socket) {
  int rc = 0;
  std::optional<Registration> registration;
  Register(a, policy, run_options, &registration, &rc);
  if (rc != 0) return rc;
  std::optional<Result<RunOutcome>> outcome;
  if (a.pool != "off" && run_options.net_pcap.empty()) {  // a PCAP file is written by a cold run's own supervisor
    std::string why;
    outcome = pool::RunWarm(policy, a.command, run_options, pool_socket, pool::PoolKey(policy), &why);
    if (!outcome) {
      if (a.pool == "required") {
        LogError("--pool required: not served by a warm sandbox: {}", why);
        return kExitUnsupported;
      }
      LogDebug("running cold: {}", why);
    }
  }
  if (!outcome) outcome = RunSandbox(policy, a.command, run_options);
  if (*outcome && (*outcome)->exit_code == kExitNotFound) (*outcome)->error += NotFoundHint(policy, a.command[0]);
  return FinishRun(*outcome, a);
}

}  // namespace

int RunCommand(int argc, char** argv) { return RunCommandAs(argc, argv, nullptr); }

int RunCommandAs(int argc, char** argv, const RunVariant* variant) {
  // The common invocation first: with a pool of its built-in profile it is done here.
  const std::string pool_socket = pool::DefaultSocketPath();
  const std::optional<RunArgs> quick = variant ? std::nullopt : QuickParse(argc, argv);
  if (quick) {
    if (auto fast = TryFastWarm(*quick, pool_socket)) {
      int code = FinishRun(*fast, *quick);
      std::fflush(nullptr);
      _exit(code);  // nothing else to tear down
    }
  }
  RunArgs a;
  if (variant) a.profile = variant->default_profile;
  if (variant) a.box = variant->box;
  CLI::App app{variant ? variant->description
                       : "Run a program in a fresh sandbox: user, mount, pid, ipc, uts, net and cgroup namespaces, a tmpfs root\n"
                         "with read-only system directories, seccomp, Landlock, no capabilities, resource limits.",
               variant ? variant->usage : "airlock run"};
  AddRunOptions(app, a);
  auto words = ExpandBindForms(argc, argv);
  if (!words) {
    LogError("{}", words.error().What());
    return kExitUsage;
  }
  std::vector<char*> args;
  for (auto& w : *words) args.push_back(w.data());
  if (auto rc = ParseCommandLine(app, static_cast<int>(args.size()), args.data())) return *rc;
  if (a.verbose) SetLogLevel(LogLevel::kDebug);
  if (!a.name.empty()) {
    if (auto s = ValidateRunName(a.name); !s) {
      LogError("{}", s.error().What());
      return kExitUsage;
    }
  }

  // Not tried above (the same arguments would not be served now either): the fast path.
  if (!quick && !variant) {
    if (auto fast = TryFastWarm(a, pool_socket)) return FinishRun(*fast, a);
  }
  auto policy = EffectivePolicy(a, variant);
  if (const int* rc = std::get_if<int>(&policy)) return *rc;
  if (a.explain) {
    std::fputs(ExplainPolicy(std::get<Policy>(policy), MountNotes(std::get<Policy>(policy))).c_str(), stdout);
    return 0;
  }
  if (a.command.empty()) {
    LogError("no command given: airlock run [options] -- CMD [ARGS...]");
    return kExitUsage;
  }

  RegisterBuiltinSeccompPrograms();
  RunOptions run_options;
  run_options.kill_on_interrupt = a.on_interrupt == "kill";
  if (!a.net_pcap.empty() && std::get<Policy>(policy).net.mode != NetMode::kSinkhole) {
    LogError("--net-pcap records the sinkhole's traffic: add --net sinkhole (or use the analysis profile)");
    return kExitUsage;
  }
  if (!a.net_pcap.empty() && a.pool == "required") {
    LogError("--net-pcap runs cold (its supervisor writes the file): drop --pool required");
    return kExitUsage;
  }
  if (struct stat st{}; !a.net_pcap.empty() && ::lstat(a.net_pcap.c_str(), &st) == 0) {
    LogError("--net-pcap {}: the file exists (it is written as a new file): remove it or name another", a.net_pcap);
    return kExitUsage;
  }
  run_options.net_pcap = a.net_pcap;
  UniqueFd monitor_file;
  if (auto rc = OpenMonitor(a, variant, monitor_file, run_options)) return *rc;
  return RunPolicy(std::get<Policy>(policy), a, run_options, pool_socket);
}

}  // namespace airlock::cli
