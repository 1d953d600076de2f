#include "pool/pool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/json_text.h"
#include "core/log.h"
#include "core/private_dir.h"
#include "core/runtime_dir.h"
#include "mount/mount_plan.h"
#include "policy/policy_fields.h"
#include "policy/profile_loader.h"

namespace airlock::pool {

std::string DefaultSocketPath(bool create) {
  if (const char* env = std::getenv("AIRLOCK_POOL_SOCKET"); env != nullptr && *env != '\0') return env;
  return UserRuntimeDir(create) + "/pool.sock";
}

std::string WarmIneligibility(const Policy& policy, const RunOptions& options) {
  if (options.monitor_fd >= 0 || !options.notify_syscalls.empty()) return "the behaviour monitor runs cold";
  if (policy.net.mode != NetMode::kNone && policy.net.mode != NetMode::kHost) {
    return fmt::format("--net {} needs per-run network helpers", NetModeName(policy.net.mode));
  }
  if (!policy.pass_fds.empty()) return "--pass-fd runs cold";
  for (const MountEntry& m : policy.mounts) {
    if (m.kind == MountEntry::Kind::kOverlay) return "an overlay (a box's layer) is mounted per run";
  }
  if (auto ids = PlanIdMapping(policy.identity); ids && ids->caller_is_root) {
    for (BindIdmap d : PlanBindIdmaps(policy, *ids))
      if (d == BindIdmap::kIdmapped) return "an idmapped bind (root, a read-write bind the sandbox's user does not own) is made per run";
  }
  return "";
}

std::string PoolKey(const Policy& policy) {
  // Only what the sandbox enforces: fields the client applies per run (environment, timeout) and the
  // policy's provenance are reset (FieldScope in policy/policy_fields.h). PolicyToToml writes every
  // described field (tests/unit/policy_fields_test.cc: each field round-trips and changes this key).
  return fmt::format("{}\nuid={} gid={} version={}\n", PolicyToToml(SandboxPart(policy)), geteuid(), getegid(), AIRLOCK_VERSION);
}

std::string BuiltinFastKey(const std::string& profile) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over every built-in profile's text
  bool found = false;
  for (const auto& [name, toml] : BuiltinProfileSources()) {
    found = found || name == profile;
    for (std::string_view part : {name, std::string_view("\n"), toml}) {
      for (char c : part) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    }
  }
  if (!found) return "";
  return fmt::format("builtin:{}|{}|{:016x}|uid={} gid={}\n", profile, AIRLOCK_VERSION, h, geteuid(), getegid());
}

std::string ParamsPath(const std::string& socket) { return socket + ".params.json"; }

Result<Policy> ReadPublishedPolicy(const std::string& socket, const std::string& fast_key) {
  std::string path = ParamsPath(socket);
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open " + path);
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && st.st_size < 65536) {
    text.resize(static_cast<size_t>(st.st_size));
    if (::read(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) text.clear();
  }
  ::close(fd);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || j.value("fast_key", "") != fast_key) return MakeError(path + " does not describe this policy");
  try {
    Policy p;
    p.name = j.at("profile").get<std::string>();
    p.env_keep = j.at("env_keep").get<std::vector<std::string>>();
    p.env_set = j.at("env_set").get<std::map<std::string, std::string>>();
    p.home = j.at("home").get<std::string>();
    if (!j.at("uid").is_null()) p.identity.uid = j.at("uid").get<uid_t>();
    if (!j.at("gid").is_null()) p.identity.gid = j.at("gid").get<gid_t>();
    p.identity.outside_uid_when_root = j.at("outside_uid").get<uid_t>();
    p.identity.outside_gid_when_root = j.at("outside_gid").get<gid_t>();
    if (!j.at("timeout_ms").is_null()) p.limits.timeout = std::chrono::milliseconds(j.at("timeout_ms").get<int64_t>());
    const auto& sc = j.at("seccomp");
    p.seccomp.requirement = sc.at("enabled").get<bool>() ? Requirement::kRequired : Requirement::kDisabled;
    p.seccomp.base = sc.at("base").get<std::string>();
    p.seccomp.allow = sc.at("allow").get<std::vector<std::string>>();
    p.seccomp.deny = sc.at("deny").get<std::vector<std::string>>();
    p.seccomp.count_denials = sc.at("count_denials").get<bool>();
    p.net.mode = j.at("net_host").get<bool>() ? NetMode::kHost : NetMode::kNone;
    p.die_with_parent = j.at("die_with_parent").get<bool>();
    return p;
  } catch (const std::exception& e) {
    return MakeError(path + ": " + e.what());
  }
}

std::string PublishedParams(const Policy& p, const std::string& fast_key) {
  nlohmann::json j;
  j["fast_key"] = fast_key;
  j["profile"] = p.name;
  j["env_keep"] = p.env_keep;
  j["env_set"] = p.env_set;
  j["home"] = p.home;
  j["uid"] = p.identity.uid ? nlohmann::json(*p.identity.uid) : nlohmann::json(nullptr);
  j["gid"] = p.identity.gid ? nlohmann::json(*p.identity.gid) : nlohmann::json(nullptr);
  j["outside_uid"] = p.identity.outside_uid_when_root;
  j["outside_gid"] = p.identity.outside_gid_when_root;
  j["timeout_ms"] = p.limits.timeout ? nlohmann::json(p.limits.timeout->count()) : nlohmann::json(nullptr);
  j["seccomp"] = {{"enabled", p.seccomp.requirement != Requirement::kDisabled},
                  {"base", p.seccomp.base},
                  {"allow", p.seccomp.allow},
                  {"deny", p.seccomp.deny},
                  {"count_denials", p.seccomp.count_denials}};
  j["net_host"] = p.net.mode == NetMode::kHost;
  j["die_with_parent"] = p.die_with_parent;
  return DumpJson(j, 2) + "\n";
}

}  // namespace airlock::pool
