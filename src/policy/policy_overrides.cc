// ApplyOverrides: `airlock run`'s flags onto a loaded policy, one function per policy section, in the
// order the errors have always been reported.
#include "policy/policy_overrides.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "policy/profile_loader.h"

namespace airlock {
namespace {

void AddBinds(Policy& p, const std::vector<std::pair<std::string, std::string>>& list, MountEntry::Kind kind,
              const char* opt) {
  for (const auto& [src, dst] : list) {
    MountEntry e;
    e.kind = kind;
    e.src = src;
    e.dst = dst;
    e.origin = opt;
    p.mounts.push_back(e);
  }
}

// A parent before what is mounted below it, whatever the flags' order (`--bind X:/a/b --tmpfs /a`
// would otherwise hide the bind under the tmpfs): the flags' entries, stably, by depth.
void ParentsFirst(std::vector<MountEntry>& mounts, size_t from) {
  auto depth = [](const MountEntry& e) {
    std::string d = e.dst;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    return std::count(d.begin(), d.end(), '/');
  };
  std::stable_sort(mounts.begin() + static_cast<std::ptrdiff_t>(from), mounts.end(),
                   [&](const MountEntry& a, const MountEntry& b) { return depth(a) < depth(b); });
}

Status ApplyMounts(Policy& p, const PolicyOverrides& o, const std::string& cwd) {
  const size_t first_flag = p.mounts.size();
  AddBinds(p, o.ro_bind, MountEntry::Kind::kRoBind, "--ro-bind");
  AddBinds(p, o.bind, MountEntry::Kind::kBind, "--bind");
  AddBinds(p, o.dev_bind, MountEntry::Kind::kDevBind, "--dev-bind");
  for (const auto& t : o.tmpfs) {
    MountEntry e;
    e.kind = MountEntry::Kind::kTmpfs;
    e.origin = "--tmpfs";
    auto colon = t.find(':');
    e.dst = t.substr(0, colon);
    if (colon != std::string::npos) {
      auto size = ParseSize(t.substr(colon + 1));
      if (!size) return std::unexpected(std::move(size.error()).WithContext("--tmpfs " + t));
      e.size_bytes = *size;
    }
    p.mounts.push_back(e);
  }
  ParentsFirst(p.mounts, first_flag);
  for (const auto& [flag, value, field] : {std::tuple{"--tmp-size", &o.tmp_size, &p.tmp_size},
                                           std::tuple{"--shm-size", &o.shm_size, &p.shm_size},
                                           std::tuple{"--home-size", &o.home_size, &p.home_size}}) {
    if (value->empty()) continue;
    auto size = ParseSize(*value);
    if (!size) return std::unexpected(std::move(size.error()).WithContext(flag));
    if (*size == 0) return MakeError(std::string(flag) + " must be > 0");
    *field = *value;
  }
  if (!o.tmpfs_inodes.empty()) {
    auto n = ParseCountLimit(o.tmpfs_inodes);
    if (!n || !*n || **n == 0) return MakeError("--tmpfs-inodes takes a positive number of inodes, not '" + o.tmpfs_inodes + "'");
    p.tmpfs_inodes = **n;
  }
  if (o.workdir) {
    MountEntry e;
    e.kind = MountEntry::Kind::kBind;
    e.src = cwd;
    e.dst = cwd;
    e.origin = "--workdir";
    p.mounts.push_back(e);
    p.chdir = cwd;
  }
  if (!o.chdir.empty()) p.chdir = o.chdir;
  return Ok();
}

Status ApplyNetwork(Policy& p, const PolicyOverrides& o) {
  if (!o.net.empty()) {
    if (o.net == "none") p.net.mode = NetMode::kNone;
    else if (o.net == "host") p.net.mode = NetMode::kHost;
    else if (o.net == "user") p.net.mode = NetMode::kUser;
    else if (o.net == "sinkhole") p.net.mode = NetMode::kSinkhole;
    else return MakeError("--net must be none, host, user or sinkhole, not '" + o.net + "'");
    p.ns.net = p.net.mode != NetMode::kHost;
  }
  // Said here, naming the flags (ValidatePolicy would blame the profile, with exit 122).
  if (!o.net_allow.empty() && p.net.mode != NetMode::kUser) {
    return MakeError(std::string("--net-allow needs --net user (the network mode is '") + NetModeName(p.net.mode) +
                     "'): add --net user, or use a profile whose network mode is user (--profile network)");
  }
  for (const auto& n : o.net_allow) p.net.allow.push_back(n);
  for (int port : o.listen) {
    if (port < 1 || port > 65535) return MakeError("--listen " + std::to_string(port) + ": not a TCP port (1-65535)");
    if (std::find(p.net.listen.begin(), p.net.listen.end(), port) == p.net.listen.end()) p.net.listen.push_back(port);
  }
  return Ok();
}

Status ApplyLimits(Policy& p, const PolicyOverrides& o, RlimitSpecParser parse_rlimit) {
  if (!o.memory.empty()) {
    auto v = ParseMemoryLimit(o.memory);
    if (!v) return std::unexpected(std::move(v.error()).WithContext("--memory"));
    p.limits.memory_bytes = *v;
  }
  if (!o.pids.empty()) {
    auto v = ParseCountLimit(o.pids);
    if (!v) return std::unexpected(std::move(v.error()).WithContext("--pids"));
    p.limits.pids = *v;
  }
  if (!o.cpu.empty()) {
    try {
      size_t used = 0;
      double c = std::stod(o.cpu, &used);
      if (used != o.cpu.size() || c <= 0) throw std::invalid_argument("cpu");
      p.limits.cpus = c;
    } catch (const std::exception&) {
      return MakeError("--cpu takes a positive number of CPUs, e.g. 0.5, not '" + o.cpu + "'");
    }
  }
  if (!o.timeout.empty()) {
    auto d = ParseDuration(o.timeout);
    if (!d) return std::unexpected(std::move(d.error()).WithContext("--timeout"));
    p.limits.timeout = *d;
  }
  for (const auto& r : o.rlimits) {
    auto e = parse_rlimit(r);
    if (!e) return std::unexpected(std::move(e.error()).WithContext("--rlimit " + r));
    p.limits.rlimits.push_back(*e);
  }
  return Ok();
}

Status ApplyProcess(Policy& p, const PolicyOverrides& o) {
  for (const auto& kv : o.setenv) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return MakeError("--setenv takes KEY=VALUE, not '" + kv + "'");
    p.env_set[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& k : o.keep_env) p.env_keep.push_back(k);
  for (int fd : o.pass_fds) p.pass_fds.push_back(fd);
  if (o.host_terminal) p.host_terminal = true;
  if (!o.hostname.empty()) p.hostname = o.hostname;
  if (o.uid >= 0) p.identity.uid = static_cast<uid_t>(o.uid);
  if (o.gid >= 0) p.identity.gid = static_cast<gid_t>(o.gid);
  return Ok();
}

Status ApplyFilters(Policy& p, const PolicyOverrides& o) {
  for (const auto& g : o.allow) p.seccomp.allow.push_back(g);
  for (const auto& g : o.deny) p.seccomp.deny.push_back(g);
  if (!o.landlock.empty()) {
    if (o.landlock == "required") p.landlock.requirement = Requirement::kRequired;
    else if (o.landlock == "best-effort") p.landlock.requirement = Requirement::kBestEffort;
    else if (o.landlock == "disabled") p.landlock.requirement = Requirement::kDisabled;
    else return MakeError("--landlock must be required, best-effort or disabled");
  }
  return Ok();
}

}  // namespace

bool PolicyOverrides::ChangesSandbox() const {
  return !bind.empty() || !ro_bind.empty() || !dev_bind.empty() || !tmpfs.empty() || !tmp_size.empty() ||
         !shm_size.empty() || !home_size.empty() || !tmpfs_inodes.empty() || !chdir.empty() || workdir ||
         !net.empty() || !net_allow.empty() || !listen.empty() || !memory.empty() || !cpu.empty() || !pids.empty() || !rlimits.empty() ||
         !pass_fds.empty() || !hostname.empty() || uid >= 0 || gid >= 0 || !allow.empty() || !deny.empty() ||
         !landlock.empty();
}

Status ApplyOverrides(Policy& policy, const PolicyOverrides& o, const std::string& cwd, RlimitSpecParser parse_rlimit) {
  if (auto s = ApplyMounts(policy, o, cwd); !s) return s;
  if (auto s = ApplyNetwork(policy, o); !s) return s;
  if (auto s = ApplyLimits(policy, o, parse_rlimit); !s) return s;
  if (auto s = ApplyProcess(policy, o); !s) return s;
  return ApplyFilters(policy, o);
}

}  // namespace airlock
