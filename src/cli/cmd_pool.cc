// airlock pool: keep warm sandboxes ready for `airlock run` (src/pool/pool.h, docs/POOL.md).
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/log.h"
#include "policy/policy_overrides.h"
#include "policy/profile_loader.h"
#include "pool/pool.h"
#include "rlimit/rlimit.h"
#include "sandbox/outcome.h"
#include "seccomp/program_cache.h"

namespace airlock::cli {

int PoolCommand(int argc, char** argv) {
  std::string profile = "default", socket;
  PolicyOverrides limits;  // --memory, --pids, --cpu only: the same flags as `airlock run`'s
  size_t size = 2;
  int64_t max_age = 300;
  bool verbose = false;
  CLI::App app{"Keep sandboxes prepared up to the command (namespaces, uid maps, mounts, pivot_root) so that\n"
               "`airlock run` with the same policy starts in a fraction of the time. Each sandbox serves one run\n"
               "and is replaced at once; runs with another policy (other limits included), --monitor or --net user\n"
               "run cold. With limits, each sandbox waits in a cgroup of its own. Serves only its own user. Stops on\n"
               "SIGINT/SIGTERM.",
               "airlock pool"};
  app.footer("Example (a user service):\n  airlock pool --size 2 &\n  airlock run -- /bin/true     # served warm\n"
             "  airlock run --report - --pool required -- id   # fails instead of running cold\n"
             "Socket: $AIRLOCK_POOL_SOCKET, else /run/airlock/pool.sock (root), $XDG_RUNTIME_DIR/airlock/pool.sock\n"
             "or /tmp/airlock-UID/pool.sock (if another user took that directory: a private /tmp/airlock-UID.XXXXXX).");
  app.add_option("-p,--profile", profile, "built-in profile name or TOML file the sandboxes are prepared for (default: default)");
  app.add_option("--memory", limits.memory, "memory limit of every sandbox, e.g. 512m (runs ask for the same)");
  app.add_option("--pids", limits.pids, "maximum number of processes of every sandbox");
  app.add_option("--cpu", limits.cpu, "CPU limit of every sandbox in CPUs, e.g. 0.5");
  app.add_option("--size", size, "sandboxes kept ready (default 2)")->check(CLI::Range(1, 64));
  app.add_option("--socket", socket, "listen here instead of the default path");
  app.add_option("--max-age", max_age, "seconds a ready sandbox may wait before it is replaced (default 300)")
      ->check(CLI::Range(1, 86400));
  app.add_flag("-v,--verbose", verbose, "log every sandbox prepared and handed out");
  if (auto rc = ParseCommandLine(app, argc, argv)) return *rc;
  SetLogLevel(verbose ? LogLevel::kDebug : LogLevel::kInfo);
  auto policy = LoadValidProfile(profile);
  if (!policy) return kExitProfile;
  if (auto s = ApplyOverrides(*policy, limits, "", ParseRlimitSpec); !s) {
    LogError("{}", s.error().What());
    return kExitProfile;
  }
  if (auto s = ValidatePolicy(*policy); !s) {
    LogError("{}", s.error().What());
    return kExitProfile;
  }
  RegisterBuiltinSeccompPrograms();
  pool::ServeOptions o;
  o.socket = socket;
  o.profile = profile;
  o.size = size;
  o.max_age = std::chrono::seconds(max_age);
  auto rc = pool::Serve(*policy, o);
  if (!rc) {
    LogError("pool: {}", rc.error().What());
    return kExitSetup;
  }
  return *rc;
}

}  // namespace airlock::cli
