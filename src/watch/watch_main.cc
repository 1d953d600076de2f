// airlock-watch: the endpoint daemon and its commands (docs/ENDPOINT.md), exec'd by the front end as
//   airlock watch [options]            the daemon, in the foreground (systemd runs it the same way)
//   airlock watch status [--json]      what the running daemon reports
//   airlock verdicts list [--json]     the trust database
//   airlock verdicts release ID        a suspicious verdict released by the user
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/file_read.h"
#include "core/json_text.h"
#include "core/private_dir.h"
#include "core/report_envelope.h"
#include "watch/dir_watcher.h"
#include "watch/event_log.h"
#include "watch/gate.h"
#include "watch/judge.h"
#include "watch/notifier.h"
#include "watch/notify_send.h"
#include "watch/trust_db.h"
#include "watch/trust_state.h"
#include "watch/watch_config.h"

namespace airlock::watch {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kWatchUsage = R"(Usage: airlock watch [options]          run the endpoint daemon in the foreground (root)
       airlock watch status [--state-dir DIR] [--json]

Options (each overrides its key of the config file's [watch] table; docs/ENDPOINT.md):
  --config FILE             TOML configuration
  --monitor | --enforce     log what would be refused (default) | refuse it
  --fail-mode closed|open   the watchdog's answer when a decision overruns (default closed)
  --decision-timeout MS     the watchdog's deadline per decision (default 1000)
  --state-dir DIR           trust database, status, staging (default /var/lib/airlock/watch)
  --watch DIR               a directory whose new files are judged, with its subdirectories (repeatable;
                            replaces the defaults: /root/Downloads, /home/*/Downloads, the browser
                            quarantines ~/.local/share/airlock/downloads, and /tmp flat)
  --watch-flat DIR          the same for DIR's own entries only (repeatable)...
  --watch-flat-subdir PAT   ...and its subdirectories named PAT, recursively (repeatable; replaces the
                            defaults mozilla_* and evolution-*: mail attachments opened from /tmp)
  --watch-max-dirs N        directories watched at most (default 8192)
  --no-start-sweep          do not judge at start what is already in the watched directories
  --build-dir DIR           trust what a dpkg-installed builder (ld, as, strip, rustc...) writes in DIR
                            (repeatable; off by default; docs/ENDPOINT.md "Builds")
  --builder NAME            an executable name trusted as a builder (repeatable; replaces the defaults)
  --mark-fs PATH            gate every file on PATH's filesystem (repeatable; replaces the defaults)
  --mark-mount PATH         gate the mount at PATH only (repeatable)
  --allow ENTRY             trust /path, /dir/ or sha256:HEX (repeatable)
  --no-dpkg                 do not trust dpkg-installed files
  --dpkg-info DIR           dpkg's database (default /var/lib/dpkg/info)
  --no-interpreters         gate execve only (no FAN_OPEN_PERM for interpreters and loaders)
  --interpreter-reads downloads|untrusted
                            what interpreters may not read unjudged (default downloads)
  --concurrency N           files judged at once (default 2)
  --queue-limit N           files waiting to be judged at most (default 4096; the rest is swept up later)
  --max-file-size-mb N      larger files are not judged (default 256: they stay unjudged)
  --no-detonate             static triage only (no `airlock analyze` of runnable files)
  --detonate-timeout S      how long a detonation runs (default 30)
  --log FILE                log file (default stderr)
  --notify off|blocked|all  desktop notifications to the file's owner (default blocked: malicious and
                            suspicious verdicts, refused runs; all: clean verdicts too)
  --notify-bus-dir DIR      where the users' session buses are: DIR/UID/bus (default /run/user)
)";

constexpr const char* kVerdictsUsage =
    "Usage: airlock verdicts [--state-dir DIR] list [--json] | release ID\n"
    "  list          every verdict of airlock watch (id, verdict, sha256, when, last path)\n"
    "  release ID    let a suspicious file run on the host (ID or full sha256; malicious never)\n";

std::string DbPath(const std::string& state) { return state + "/trust.sqlite"; }
std::string StatusPath(const std::string& state) { return state + "/status.json"; }

// --state-dir DIR and --json out of args; the rest stays.
std::string TakeStateDir(std::vector<std::string>& args, bool* as_json) {
  std::string state = "/var/lib/airlock/watch";
  for (size_t i = 0; i < args.size();) {
    if (args[i] == "--state-dir" && i + 1 < args.size()) {
      state = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
    } else if (args[i] == "--json" && as_json != nullptr) {
      *as_json = true;
      args.erase(args.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
  return state;
}

json StatusJson(const WatchConfig& c, const Gate& gate, const DirWatcher* watcher, const BuildTrust* builds, Judge& judge,
                const TrustState& trust, const EventLog& log, const std::string& started, const Notifier& notifier) {
  const auto& g = gate.stats();
  json watched = nullptr;  // no watcher (the log says why)
  if (watcher != nullptr) {
    const auto& w = watcher->stats();
    watched = {{"events", w.events.load()}, {"files", w.files.load()}, {"dirs_marked", w.dirs_marked.load()}, {"overflows", w.overflows.load()},
               {"refused", w.refused.load()}, {"sweeps", w.sweeps.load()}, {"swept", w.swept.load()}};
  }
  const auto& n = notifier.stats();
  const auto& j = judge.stats();
  return json{{"pid", ::getpid()}, {"mode", GateModeName(c.gate.mode)}, {"fail_mode", FailModeName(c.gate.fail_mode)},
              {"decision_timeout_ms", c.gate.decision_timeout.count()}, {"started", started}, {"updated", UtcTimeNow()},
              {"filesystem_marks", c.gate.filesystem_marks}, {"mount_marks", c.gate.mount_marks}, {"watch", c.watch_dirs}, {"watch_flat", c.watch_flat},
              {"interpreters", c.gate.gate_interpreters}, {"dpkg_files", trust.dpkg_files()}, {"verdicts", trust.VerdictCount()},
              {"gate", {{"events", g.events.load()}, {"allowed", g.allowed.load()}, {"denied", g.denied.load()},
                        {"would_deny", g.would_deny.load()}, {"cache_hits", g.cache_hits.load()}, {"hashed", g.hashed.load()},
                        {"watchdog", g.watchdog.load()}, {"kernel_ignored", g.ignored.load()}}},
              {"watcher", std::move(watched)},
              {"build_dirs", c.build_dirs},
              {"builds", builds == nullptr ? json(nullptr)
                                           : json{{"built", builds->stats().built.load()}, {"tainted", builds->stats().tainted.load()},
                                                  {"trusted", builds->stats().trusted.load()}, {"unverified", builds->stats().unverified.load()}}},
              {"judge", {{"queue", judge.QueueLength()}, {"submitted", j.submitted.load()}, {"judged", j.judged.load()},
                         {"known", j.known.load()}, {"failed", j.failed.load()}, {"dropped", j.dropped.load()}, {"skipped", j.skipped.load()}}},
              {"notify", {{"level", NotifyLevelName(c.notify)}, {"sent", n.sent.load()}, {"failed", n.failed.load()}, {"dropped", n.dropped.load()},
                          {"no_session", n.no_session.load()}, {"rate_limited", n.rate_limited.load()}}},
              {"log_dropped", log.dropped()}};
}

void WriteStatus(const std::string& state, const json& j) {
  const std::string tmp = StatusPath(state) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << DumpJson(j, 2) << "\n";
    if (!out) return;
  }
  std::error_code ec;
  fs::rename(tmp, StatusPath(state), ec);
}

// Verdicts committed by another process (`airlock verdicts release`) merged into memory.
void MergeVerdicts(TrustDb& db, TrustState& trust) {
  auto all = db.All();
  if (!all) return;
  for (const auto& r : *all) trust.SetVerdict(r.sha256, r.verdict);
}

Status Prepare(WatchConfig& c) {
  if (::geteuid() != 0) return MakeError("airlock watch needs root: fanotify permission events need CAP_SYS_ADMIN");
  FillDefaults(c);
  for (auto* list : {&c.watch_dirs, &c.watch_flat, &c.build_dirs}) {
    for (auto& d : *list) {
      std::error_code ec;
      auto real = fs::canonical(d, ec);
      if (!ec) d = real.string() == "/" ? "/" : real.string() + "/";
    }
  }
  AIRLOCK_TRY_STATUS(CheckWatchConfig(c), "configuration");
  AIRLOCK_TRY_STATUS(MakePrivateDirs(c.state_dir), "state directory");
  std::error_code ec;
  fs::remove_all(c.state_dir + "/work", ec);
  return MakePrivateDirs(c.state_dir + "/work");
}

Result<std::unique_ptr<TrustState>> LoadTrust(const WatchConfig& c, EventLog& log) {
  PathAliases aliases = MergedUsrAliases("/");
  DpkgIndex dpkg;
  if (c.dpkg) {
    auto loaded = LoadDpkgIndex(c.dpkg_info_dir, aliases);
    if (loaded) dpkg = std::move(*loaded);
    else log.Write("dpkg: " + loaded.error().What() + ": no file is trusted as dpkg's");
  }
  AllowList allow;
  for (const auto& e : c.allow) AIRLOCK_TRY_STATUS(AddAllowEntry(allow, e, aliases), "--allow");
  std::vector<std::string> watched = c.watch_dirs;
  watched.insert(watched.end(), c.watch_flat.begin(), c.watch_flat.end());
  return std::make_unique<TrustState>(std::move(dpkg), std::move(allow), std::move(watched), aliases);
}

// Transitive trust for builds, when build directories are configured (else null: off).
std::unique_ptr<BuildTrust> MakeBuildTrust(const WatchConfig& c, const TrustState& trust) {
  if (c.build_dirs.empty()) return nullptr;
  BuildTrustOptions o{c.build_dirs, c.builders.empty() ? DefaultBuilders() : std::set<std::string>(c.builders.begin(), c.builders.end())};
  return std::make_unique<BuildTrust>(std::move(o), [&trust](const std::string& exe) {
    Classification k = trust.Classify(FileFacts{trust.Canonical(exe), false, false});
    return k.kind == Classification::Kind::kVerifyMd5 ? k.md5 : std::string();
  });
}

// The notifier's options: the daemon's log, the trust database's ids for "airlock verdicts release ID".
NotifierOptions NotifyOptions(const WatchConfig& c, EventLog* log, TrustDb* db) {
  NotifierOptions o;
  o.level = c.notify;
  o.bus_dir = c.notify_bus_dir;
  o.enforce = c.gate.mode == GateMode::kEnforce;
  o.log = [log](std::string l) { log->Write(std::move(l)); };
  o.id_of = [db](const std::string& sha) -> std::optional<int64_t> {
    auto r = db->Get(sha);
    return r ? std::optional<int64_t>(r->id) : std::nullopt;
  };
  return o;
}

// The directory watcher, or none when the kernel cannot report directory entries (before 5.9): then
// new files are judged at their first exec attempt (the gate is unchanged) and builds are not trusted;
// the log says so.
std::unique_ptr<DirWatcher> StartWatcher(const WatchConfig& c, Judge& judge, std::unique_ptr<BuildTrust>& builds, EventLog& log) {
  DirWatcherHooks wh{[&log](std::string l) { log.Write(std::move(l)); },
                     [&judge](const std::string& p) { return judge.Submit(p, "", false); }, nullptr};
  if (builds) wh.built = [b = builds.get()](pid_t pid, const std::string& p) { b->Written(pid, p); };
  auto watcher = DirWatcher::Start({c.watch_dirs, c.watch_flat, c.watch_flat_subdirs, c.build_dirs, c.watch_max_dirs, c.sweep_at_start}, wh);
  if (!watcher) {
    log.Write("watch: " + watcher.error().What() + ": directories are not watched (new files are judged at their first exec attempt)" +
              (builds ? "; build_dirs ignored (builds need the watcher)" : ""));
    builds.reset();
    return nullptr;
  }
  if (builds) builds->SetDrain([w = watcher->get()] { w->Drain(); });
  return std::move(*watcher);
}

// The gate's hooks: its log, the judge (an exec attempt's unknown content, a build's output) and the
// notifier (a refused run).
GateHooks MakeGateHooks(Judge& judge, Notifier& notifier, EventLog& log) {
  GateHooks hooks{[&log](std::string l) { log.Write(std::move(l)); },
                  [&judge](const std::string& p, const std::string& sha) { judge.Submit(p, sha, true); },
                  [&judge](const std::string& p, const std::string& sha, const std::string& by) { judge.RecordBuilt(p, sha, by); }};
  hooks.on_denied = [&notifier](const std::string& p, const std::string& sha, const std::string& reason) {
    notifier.Notify({Notice::Kind::kBlocked, p, sha, ParseVerdict(reason)});
  };
  return hooks;
}

// The "ready" log line: what the daemon gates, watches and trusts.
std::string ReadyLine(const WatchConfig& c, const DirWatcher* watcher, const TrustState& trust) {
  return fmt::format("ready pid={} mode={} fail_mode={} decision_timeout_ms={} filesystem_marks=[{}] mount_marks=[{}] watch=[{}] "
                     "watched_dirs={} watch_flat=[{}] build_dirs=[{}] dpkg_files={} verdicts={}",
                     ::getpid(), GateModeName(c.gate.mode), FailModeName(c.gate.fail_mode), c.gate.decision_timeout.count(),
                     fmt::join(c.gate.filesystem_marks, ","), fmt::join(c.gate.mount_marks, ","), fmt::join(c.watch_dirs, ","),
                     watcher != nullptr ? watcher->stats().dirs_marked.load() : 0, fmt::join(c.watch_flat, ","),
                     fmt::join(c.build_dirs, ","), trust.dpkg_files(), trust.VerdictCount());
}

int RunDaemon(std::vector<std::string> args) {
  WatchConfig c;
  if (auto s = ApplyWatchFlags(args, c); !s) {
    std::cerr << "airlock watch: " << s.error().What() << "\n";
    return 2;
  }
  if (auto s = Prepare(c); !s) {
    std::cerr << "airlock watch: " << s.error().What() << "\n";
    return 1;
  }
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread: every thread inherits it
  auto log = EventLog::Open(c.log);
  if (!log) {
    std::cerr << "airlock watch: " << log.error().What() << "\n";
    return 1;
  }
  auto opened = TrustDb::Open(DbPath(c.state_dir));
  if (!opened) {
    std::cerr << "airlock watch: " << opened.error().What() << "\n";
    return 1;
  }
  if (opened->recovered) (*log)->Write("trust database was corrupted: moved to " + opened->moved_to + "; starting empty (every file unjudged again)");
  auto trust = LoadTrust(c, **log);
  if (!trust) {
    std::cerr << "airlock watch: " << trust.error().What() << "\n";
    return 2;
  }
  MergeVerdicts(*opened->db, **trust);
  JudgeOptions jo{c.concurrency, c.queue_limit, c.max_file_size, c.state_dir + "/work", c.detonate, c.detonate_timeout, std::chrono::seconds(120)};
  EventLog* lp = log->get();
  Notifier notifier(NotifyOptions(c, lp, opened->db.get()));
  jo.on_verdict = [&notifier](const std::string& p, const std::string& sha, Verdict v) { notifier.Notify({Notice::Kind::kVerdict, p, sha, v}); };
  Judge judge(jo, **trust, *opened->db, [lp](std::string l) { lp->Write(std::move(l)); });
  std::unique_ptr<BuildTrust> builds = MakeBuildTrust(c, **trust);
  std::unique_ptr<DirWatcher> watcher = StartWatcher(c, judge, builds, *lp);
  c.gate.builds = builds.get();
  auto gate = Gate::Start(c.gate, **trust, MakeGateHooks(judge, notifier, *lp));
  if (!gate) {
    std::cerr << "airlock watch: " << gate.error().What() << "\n";
    return 1;
  }
  const std::string started = UtcTimeNow();
  (*log)->Write(ReadyLine(c, watcher.get(), **trust));
  int64_t version = opened->db->DataVersion();
  for (;;) {
    struct timespec one_second{1, 0};
    int sig = sigtimedwait(&set, nullptr, &one_second);
    if (sig > 0) {
      (*log)->Write(fmt::format("stopping on signal {}: the gate is closed (the kernel allows what waits)", sig));
      break;
    }
    if (int64_t v = opened->db->DataVersion(); v != version) {
      version = v;
      MergeVerdicts(*opened->db, **trust);
    }
    WriteStatus(c.state_dir, StatusJson(c, **gate, watcher.get(), builds.get(), judge, **trust, **log, started, notifier));
  }
  gate->reset();
  watcher.reset();
  std::error_code ec;
  fs::remove(StatusPath(c.state_dir), ec);
  log->reset();  // flushed
  std::fflush(nullptr);
  _exit(0);  // running analyses die with us (their spawns have PR_SET_PDEATHSIG)
}

// A counter of the status document (0 when absent or mistyped: the file is the daemon's, but a
// status never crashes the reader).
uint64_t Count(const json& j, const char* section, const char* key) {
  const json& o = section == nullptr ? j : (j.contains(section) && j[section].is_object() ? j[section] : json::object());
  return o.contains(key) && o[key].is_number_unsigned() ? o[key].get<uint64_t>() : 0;
}

std::string Word(const json& j, const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "?"; }

// `airlock watch status` for people: one line per part of the daemon.
void PrintStatus(const json& j) {
  std::cout << fmt::format("airlock watch: running, pid {}, since {}\n  mode {}, fail mode {}, decision timeout {} ms\n",
                           Count(j, nullptr, "pid"), Word(j, "started"), Word(j, "mode"), Word(j, "fail_mode"),
                           Count(j, nullptr, "decision_timeout_ms"));
  std::cout << fmt::format("  gate: {} events, {} allowed, {} denied, {} would be denied, {} cache hits, {} watchdog answers\n",
                           Count(j, "gate", "events"), Count(j, "gate", "allowed"), Count(j, "gate", "denied"),
                           Count(j, "gate", "would_deny"), Count(j, "gate", "cache_hits"), Count(j, "gate", "watchdog"));
  if (j.contains("watcher") && j["watcher"].is_object()) {
    std::cout << fmt::format("  watcher: {} directories, {} files offered, {} sweeps ({} files), {} queue overflows\n",
                             Count(j, "watcher", "dirs_marked"), Count(j, "watcher", "files"), Count(j, "watcher", "sweeps"),
                             Count(j, "watcher", "swept"), Count(j, "watcher", "overflows"));
  } else {
    std::cout << "  watcher: not running (this kernel reports no directory entries: new files are judged at their first exec)\n";
  }
  std::cout << fmt::format("  judge: {} queued, {} judged, {} known, {} failed, {} refused; {} verdicts known; {} dpkg files trusted\n",
                           Count(j, "judge", "queue"), Count(j, "judge", "judged"), Count(j, "judge", "known"),
                           Count(j, "judge", "failed"), Count(j, "judge", "dropped"), Count(j, nullptr, "verdicts"),
                           Count(j, nullptr, "dpkg_files"));
  if (j.contains("notify") && j["notify"].is_object()) {
    std::cout << fmt::format("  notify ({}): {} sent, {} failed, {} without a session, {} rate-limited\n", Word(j["notify"], "level"),
                             Count(j, "notify", "sent"), Count(j, "notify", "failed"), Count(j, "notify", "no_session"),
                             Count(j, "notify", "rate_limited"));
  }
}

int Status(std::vector<std::string> args) {
  bool as_json = false;
  const std::string state = TakeStateDir(args, &as_json);
  if (!args.empty()) {
    std::cerr << kWatchUsage;
    return 2;
  }
  auto text = ReadRegularFileBounded(StatusPath(state), 1 << 20, "status larger than 1 MiB");
  json j = text ? json::parse(*text, nullptr, false) : json();
  const bool alive = j.is_object() && j.contains("pid") && j["pid"].is_number_integer() && ::kill(j["pid"].get<pid_t>(), 0) == 0;
  if (!alive) {
    std::cerr << "airlock watch is not running (no live status in " << StatusPath(state) << "; start it with `airlock watch`)\n";
    return 1;
  }
  if (as_json) {
    std::cout << DumpJson(j, 2) << "\n";
    return 0;
  }
  PrintStatus(j);
  return 0;
}

std::string When(int64_t t) {
  if (t == 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::gmtime(&tt));
  return buf;
}

int Verdicts(std::vector<std::string> args) {
  const ReportClock clock;
  bool as_json = false;
  const std::string state = TakeStateDir(args, &as_json);
  if (args.empty() || (args[0] != "list" && args[0] != "release") || (args[0] == "list" && args.size() != 1) ||
      (args[0] == "release" && args.size() != 2)) {
    std::cerr << kVerdictsUsage;
    return 2;
  }
  auto db = TrustDb::OpenExisting(DbPath(state));
  if (!db) {
    std::cerr << "airlock verdicts: " << db.error().What() << "\n";
    return 1;
  }
  if (args[0] == "release") {
    auto r = (*db)->Release(args[1]);
    if (!r) {
      std::cerr << "airlock verdicts: " << r.error().What() << "\n";
      return 1;
    }
    std::cout << fmt::format("released {} (sha256 {}, {}): it may run on the host now\n", r->id, r->sha256, Utf8Text(r->path));
    return 0;
  }
  auto all = (*db)->All();
  if (!all) {
    std::cerr << "airlock verdicts: " << all.error().What() << "\n";
    return 1;
  }
  if (as_json) {
    // The report envelope (core/report_envelope.h) and the list: hashes under "hashes" ("sha256" is
    // its deprecated name, docs/REPORT.md).
    json arr = json::array();
    for (const auto& r : *all) {
      json detail = json::parse(r.detail, nullptr, false);
      arr.push_back({{"id", r.id}, {"hashes", ReportHashes(r.sha256)}, {"sha256", r.sha256}, {"verdict", VerdictName(r.verdict)},
                     {"score", r.score}, {"path", r.path}, {"judged_at", r.judged_at}, {"released_at", r.released_at},
                     {"detail", detail.is_object() ? detail : json::object()}});
    }
    json out = {{"verdicts", std::move(arr)}};
    StampReportEnvelope(out, "verdicts list", clock);
    std::cout << DumpJson(out, 2) << "\n";
    return 0;
  }
  if (all->empty()) std::cerr << "no verdicts yet in " << DbPath(state) << "\n";
  for (const auto& r : *all) {
    std::cout << fmt::format("{:>5}  {:<10}  {}  {}  {}\n", r.id, VerdictName(r.verdict), r.sha256.substr(0, 16), When(r.judged_at), Utf8Text(r.path));
  }
  return 0;
}

}  // namespace
}  // namespace airlock::watch

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string cmd = args.empty() ? "" : args[0];
  if (!args.empty()) args.erase(args.begin());
  const bool help = !args.empty() && (args[0] == "--help" || args[0] == "-h");
  if (cmd == "notify-send") return airlock::watch::NotifySendMain(args);  // hidden: the notifier's child
  if (cmd == "watch") {
    if (help) {
      std::cout << airlock::watch::kWatchUsage;
      return 0;
    }
    if (!args.empty() && args[0] == "status") return airlock::watch::Status({args.begin() + 1, args.end()});
    return airlock::watch::RunDaemon(args);
  }
  if (cmd == "verdicts") {
    if (help) {
      std::cout << airlock::watch::kVerdictsUsage;
      return 0;
    }
    return airlock::watch::Verdicts(args);
  }
  std::cerr << "airlock-watch: expected `watch` or `verdicts` (run it as `airlock watch` / `airlock verdicts`)\n";
  return 2;
}
