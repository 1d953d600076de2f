// PolicyToToml: the effective policy as a self-contained profile (no includes). Mounts are written as
// an ordered [[mount]] array so that loading the output reproduces the exact mount order.
#include <sys/resource.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <toml++/toml.h>

#include "policy/profile_loader.h"

namespace airlock {
namespace {

// TOML integers are signed 64-bit; larger values are written as decimal strings (sizes accept both).
void InsertU64(toml::table& t, const char* key, uint64_t v) {
  if (v <= static_cast<uint64_t>(INT64_MAX)) {
    t.insert_or_assign(key, static_cast<int64_t>(v));
  } else {
    t.insert_or_assign(key, std::to_string(v));
  }
}

std::string RlimitText(uint64_t v) { return v == RLIM_INFINITY ? "unlimited" : std::to_string(v); }

const char* MountType(MountEntry::Kind kind) {
  switch (kind) {
    case MountEntry::Kind::kBind: return "bind";
    case MountEntry::Kind::kRoBind: return "ro-bind";
    case MountEntry::Kind::kDevBind: return "dev-bind";
    case MountEntry::Kind::kTmpfs: return "tmpfs";
    case MountEntry::Kind::kDir: return "dir";
    case MountEntry::Kind::kSymlink: return "symlink";
    case MountEntry::Kind::kFile: return "file";
  }
  return "?";
}

toml::array Strings(const std::vector<std::string>& v) {
  toml::array a;
  for (const std::string& s : v) a.push_back(s);
  return a;
}

}  // namespace

std::string PolicyToToml(const Policy& p) {
  toml::table root;
  root.insert_or_assign("description", "effective policy " + p.name);

  toml::table ns;
  ns.insert_or_assign("user", p.ns.user);
  ns.insert_or_assign("mount", p.ns.mount);
  ns.insert_or_assign("pid", p.ns.pid);
  ns.insert_or_assign("ipc", p.ns.ipc);
  ns.insert_or_assign("uts", p.ns.uts);
  ns.insert_or_assign("net", p.ns.net);
  ns.insert_or_assign("cgroup", p.ns.cgroup);
  ns.insert_or_assign("time", p.ns.time);
  root.insert_or_assign("namespaces", std::move(ns));

  toml::table id;
  if (p.identity.uid) id.insert_or_assign("uid", static_cast<int64_t>(*p.identity.uid));
  if (p.identity.gid) id.insert_or_assign("gid", static_cast<int64_t>(*p.identity.gid));
  id.insert_or_assign("outside_uid", static_cast<int64_t>(p.identity.outside_uid_when_root));
  id.insert_or_assign("outside_gid", static_cast<int64_t>(p.identity.outside_gid_when_root));
  root.insert_or_assign("identity", std::move(id));

  toml::table fs;
  fs.insert_or_assign("proc", p.mount_proc);
  fs.insert_or_assign("dev", p.mount_dev);
  fs.insert_or_assign("tmp_size", p.tmp_size);
  fs.insert_or_assign("home", p.home);
  if (p.chdir) fs.insert_or_assign("chdir", *p.chdir);
  root.insert_or_assign("filesystem", std::move(fs));

  toml::array mounts;
  for (const MountEntry& m : p.mounts) {
    toml::table e;
    e.insert_or_assign("type", MountType(m.kind));
    e.insert_or_assign("dst", m.dst);
    if (m.kind == MountEntry::Kind::kFile) {
      e.insert_or_assign("content", m.src);
    } else if (!m.src.empty()) {
      e.insert_or_assign("src", m.src);
    }
    if (m.size_bytes) InsertU64(e, "size", m.size_bytes);
    if (m.optional) e.insert_or_assign("optional", true);
    mounts.push_back(std::move(e));
  }
  if (!mounts.empty()) root.insert_or_assign("mount", std::move(mounts));

  toml::table proc;
  proc.insert_or_assign("hostname", p.hostname);
  proc.insert_or_assign("new_session", p.new_session);
  proc.insert_or_assign("die_with_parent", p.die_with_parent);
  proc.insert_or_assign("new_keyring", p.new_keyring);
  proc.insert_or_assign("env_keep", Strings(p.env_keep));
  toml::table env;
  for (const auto& [k, v] : p.env_set) env.insert_or_assign(k, v);
  proc.insert_or_assign("env", std::move(env));
  toml::array fds;
  for (int fd : p.pass_fds) fds.push_back(static_cast<int64_t>(fd));
  proc.insert_or_assign("pass_fds", std::move(fds));
  root.insert_or_assign("process", std::move(proc));

  toml::table sc;
  sc.insert_or_assign("mode", RequirementName(p.seccomp.requirement));
  sc.insert_or_assign("base", p.seccomp.base);
  sc.insert_or_assign("allow", Strings(p.seccomp.allow));
  sc.insert_or_assign("deny", Strings(p.seccomp.deny));
  sc.insert_or_assign("count_denials", p.seccomp.count_denials);
  root.insert_or_assign("seccomp", std::move(sc));

  toml::table ll;
  ll.insert_or_assign("mode", RequirementName(p.landlock.requirement));
  ll.insert_or_assign("min_abi", static_cast<int64_t>(p.landlock.min_abi));
  root.insert_or_assign("landlock", std::move(ll));

  toml::table net;
  net.insert_or_assign("mode", NetModeName(p.net.mode));
  net.insert_or_assign("allow", Strings(p.net.allow));
  root.insert_or_assign("network", std::move(net));

  toml::table lim;
  if (p.limits.memory_bytes) InsertU64(lim, "memory", *p.limits.memory_bytes);
  if (p.limits.pids) InsertU64(lim, "pids", *p.limits.pids);
  if (p.limits.cpus) lim.insert_or_assign("cpus", *p.limits.cpus);
  if (p.limits.timeout) lim.insert_or_assign("timeout", std::to_string(p.limits.timeout->count()) + "ms");
  lim.insert_or_assign("cgroup", RequirementName(p.limits.cgroup));
  toml::table rl;
  for (const RlimitEntry& r : p.limits.rlimits) {
    rl.insert_or_assign(r.name, RlimitText(r.soft) + ":" + RlimitText(r.hard));
  }
  lim.insert_or_assign("rlimits", std::move(rl));
  root.insert_or_assign("limits", std::move(lim));

  toml::table weaken;
  weaken.insert_or_assign("nested_userns", p.allow_nested_userns);
  root.insert_or_assign("weaken", std::move(weaken));

  std::ostringstream out;
  out << toml::toml_formatter(root);
  out << "\n";
  return out.str();
}

}  // namespace airlock
