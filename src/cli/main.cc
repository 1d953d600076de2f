// The airlock front end. It stays lean: `airlock run` links only the isolation runtime; heavy
// analysis commands are separate binaries (airlock-scan, airlock-rules) exec'd from here.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "core/helper_path.h"
#include "sandbox/outcome.h"

namespace {

constexpr const char* kUsage = R"(airlock - run untrusted code and files in an isolated, watched sandbox

Usage: airlock <command> [options]

Commands:
  run [options] [--profile NAME|FILE] -- CMD [ARGS...]
                     run a program in fresh namespaces with seccomp, Landlock, no capabilities
                     and resource limits (see `airlock run --help`)
  profile list       list the built-in profiles
  profile show NAME  print a profile's effective policy (NAME or FILE)
  pool [--size N]    keep sandboxes prepared so `airlock run` starts warm (see `airlock pool --help`)
  ps [--json]        the running sandboxes of this user: id, name, uptime, processes, memory
  stop ID|NAME       SIGTERM to a running sandbox, SIGKILL to all of it after --grace seconds
  exec ID|NAME -- CMD [ARGS...]
                     run a command inside a running sandbox with its first program's policy
  box create|run|list|diff|review|commit|discard|rm NAME
                     named copy-on-write boxes: changes stay in the box (see `airlock box --help`)
  check [--json]     what this kernel offers and what airlock will enforce here
  scan PATH...       static triage of files and mail (see `airlock scan --help`)
  analyze FILE       detonate a file in the analysis sandbox under the monitor, judge it with
                     Sigma rules and static triage (see `airlock analyze --help`)
  audit TARGET...    grade profiles and Kubernetes manifests against a hardening baseline
  rules check DIR    load Sigma rules and report what airlock supports
  milter --listen inet:HOST:PORT|unix:PATH [--config FILE]
                     the mail filter daemon (libmilter): triage, detonate, act (docs/MAIL.md)
  quarantine list|show ID|release ID|delete ID
                     messages held by the mail filter
  serve --local      the analysis service: REST API, web UI, metrics, with its own NATS and
                     workers (docs/SERVICE.md; `--nats URL --keys FILE` for a farm)
  worker --nats URL  take analysis work from a farm's NATS JetStream (docs/SERVICE.md)
  watch [--monitor|--enforce] [options]
                     the endpoint daemon: judge downloaded files, gate execution (docs/ENDPOINT.md)
  watch status       what the running daemon reports
  verdicts list|release ID
                     the daemon's verdicts; let a suspicious file run
  open FILE [ARGS...]
                     a program: run it in the analysis sandbox under the monitor, whatever its
                     verdict; a document: open it in its usual application in a disposable sandbox
  app [--box NAME|--disposable] -- PROGRAM [ARGS...]
                     a desktop program in a sandbox: your display, a private home, no network
  desktop install|uninstall
                     desktop launchers: Chromium (airlock) and Open in airlock
  browser [--box NAME|--disposable] [URL]
                     Chromium in a sandbox, its own sandbox kept on; downloads held and judged
                     (`airlock browser --check`: is the browser's sandbox on? docs/BROWSER.md)
  downloads list|release ID|delete ID
                     the browser's download quarantine
  version            print the version, the commit and what this installation can do

Exit codes of `airlock run`: the command's own status (128+N when killed by signal N), or
  121 usage error, 122 profile error, 123 required kernel feature missing, 124 timeout,
  125 sandbox setup failed, 126 command not executable, 127 command not found.
)";

// `airlock version`: the version, the commit it was configured from, and each command's helper binary
// as found now (core/helper_path.h), so a user sees what this installation can do.
int PrintVersion() {
  std::printf("airlock %s (commit %s)\n", AIRLOCK_VERSION, AIRLOCK_GIT_COMMIT);
  std::printf("built in: run, pool, box, ps, stop, exec, open, profile, check\n");
  struct Helper {
    const char* commands;
    const char* binary;
  };
  static constexpr Helper kHelpers[] = {
      {"scan", "airlock-scan"},          {"analyze", "airlock-analyze"},
      {"rules", "airlock-rules"},        {"audit", "airlock-audit"},
      {"milter, quarantine", "airlock-milter"}, {"box export/import/snapshot", "airlock-boxtar"},
      {"watch, verdicts", "airlock-watch"},    {"serve", "airlock-serve"},
      {"worker", "airlock-worker"},        {"browser, downloads, app, desktop", "airlock-browser"},
  };
  for (const Helper& h : kHelpers) {
    const std::string path = airlock::FindHelper(h.binary);
    std::printf("%-28s %s\n", h.commands, path.empty() ? "(not installed)" : path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return airlock::kExitUsage;
  }
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "version" || cmd == "--version") return PrintVersion();
  if (cmd == "run") return airlock::cli::RunCommand(argc - 1, argv + 1);
  if (cmd == "profile") return airlock::cli::ProfileCommand(argc - 1, argv + 1);
  if (cmd == "pool") return airlock::cli::PoolCommand(argc - 1, argv + 1);
  if (cmd == "ps") return airlock::cli::PsCommand(argc - 1, argv + 1);
  if (cmd == "stop") return airlock::cli::StopCommand(argc - 1, argv + 1);
  if (cmd == "exec") return airlock::cli::ExecCommand(argc - 1, argv + 1);
  if (cmd == "box") return airlock::cli::BoxCommand(argc - 1, argv + 1);
  if (cmd == "check") return airlock::cli::CheckCommand(argc - 1, argv + 1);
  if (cmd == "scan") return airlock::cli::ExecHelper("airlock-scan", argc - 1, argv + 1);
  if (cmd == "rules") return airlock::cli::ExecHelper("airlock-rules", argc - 1, argv + 1);
  if (cmd == "analyze") return airlock::cli::ExecHelper("airlock-analyze", argc - 1, argv + 1);
  if (cmd == "audit") return airlock::cli::ExecHelper("airlock-audit", argc - 1, argv + 1);
  if (cmd == "serve") return airlock::cli::ExecHelper("airlock-serve", argc - 1, argv + 1);
  if (cmd == "worker") return airlock::cli::ExecHelper("airlock-worker", argc - 1, argv + 1);
  // The helper gets the command name too: it serves both `milter` and `quarantine`.
  if (cmd == "milter" || cmd == "quarantine") return airlock::cli::ExecHelper("airlock-milter", argc, argv);
  // Likewise `watch` and `verdicts`, served by the endpoint daemon's binary.
  if (cmd == "watch" || cmd == "verdicts") return airlock::cli::ExecHelper("airlock-watch", argc, argv);
  // And `browser` and `downloads`, served by airlock-browser (docs/BROWSER.md).
  if (cmd == "browser" || cmd == "downloads" || cmd == "app" || cmd == "desktop") return airlock::cli::ExecHelper("airlock-browser", argc, argv);
  if (cmd == "open") return airlock::cli::OpenCommand(argc - 1, argv + 1);
  std::fprintf(stderr, "airlock: unknown command '%s' (try `airlock --help`)\n", cmd.c_str());
  return airlock::kExitUsage;
}
