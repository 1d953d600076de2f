#include "pool/pool.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "policy/profile_loader.h"

namespace airlock::pool {

std::string DefaultSocketPath() {
  if (const char* env = std::getenv("AIRLOCK_POOL_SOCKET"); env != nullptr && *env != '\0') return env;
  const uid_t uid = geteuid();
  if (uid == 0) return "/run/airlock/pool.sock";
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg == '/') {
    struct stat st {};
    if (::lstat(xdg, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid) return std::string(xdg) + "/airlock/pool.sock";
  }
  return fmt::format("/tmp/airlock-{}/pool.sock", uid);
}

std::string WarmIneligibility(const Policy& policy, const RunOptions& options) {
  if (options.monitor_fd >= 0 || !options.notify_syscalls.empty()) return "the behaviour monitor runs cold";
  if (policy.net.mode != NetMode::kNone && policy.net.mode != NetMode::kHost) {
    return fmt::format("--net {} needs per-run network helpers", NetModeName(policy.net.mode));
  }
  const Limits& l = policy.limits;
  if (l.memory_bytes || l.pids || l.cpus) return "cgroup limits (--memory, --pids, --cpu) need a cgroup per run";
  if (!policy.pass_fds.empty()) return "--pass-fd runs cold";
  return "";
}

std::string PoolKey(const Policy& policy) {
  Policy p = policy;
  // Applied by the client, not baked into the sandbox.
  p.limits.timeout.reset();
  p.env_keep.clear();
  p.env_set.clear();
  p.name.clear();
  p.sources.clear();
  // PolicyToToml is the complete, round-trippable form (tests/unit: profile round trip).
  return fmt::format("{}\nuid={} gid={} version={}\n", PolicyToToml(p), geteuid(), getegid(), AIRLOCK_VERSION);
}

}  // namespace airlock::pool
