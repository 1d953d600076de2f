// The policy's fields, each described once: its TOML path in a profile, the label `--explain` prints
// for it, the `airlock run` flags that override it, and whether it is part of the sandbox (and so of
// the pool key). Consumers of the description:
//  - PolicyToToml (policy_to_toml.cc) is generated from it: one writer per C++ type, one line per field.
//  - pool::PoolKey (pool/pool.cc) clears the fields whose scope is not kSandbox before keying.
//  - The loader (profile_loader.cc), ExplainPolicy (policy_explain.cc) and ApplyOverrides
//    (policy_overrides.cc) keep their hand-written error messages and prose; tests/unit/
//    policy_fields_test.cc checks them against the description field by field (round trip through
//    TOML, the explanation changes, the pool key changes, each named flag sets its field).
//  - policy_fields.cc counts the members of Policy and of each nested struct at compile time and
//    compares them with this list: a member added to policy.h and not described here fails the build.
// MountEntry and RlimitEntry are list elements: their fields are described in AIRLOCK_MOUNT_FIELDS and
// AIRLOCK_RLIMIT_FIELDS (keys inside a [[mount]] entry and the limits.rlimits table).
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>

#include "policy/policy.h"

namespace airlock {

// Who a field belongs to.
enum class FieldScope {
  kSandbox,     // enforced by the sandbox itself: in the TOML and the pool key
  kClient,      // applied by `airlock run` per run (environment, timeout): in the TOML, not the pool key
  kProvenance,  // where the policy came from (name, sources, mount origins): in neither
};

struct PolicyFieldInfo {
  std::string_view member;   // C++ path from a Policy: "ns.user"
  std::string_view toml;     // "section.key" in a profile, "mount" for the [[mount]] array; "" = not in profiles
  std::string_view explain;  // the row label or phrase ExplainPolicy prints for it
  std::string_view cli;      // `airlock run` flags that change it, space-separated; "" = none
  FieldScope scope;
};

// X(member, toml, explain, cli, scope). Order: the order of policy.h (not significant otherwise).
#define AIRLOCK_POLICY_FIELDS(X)                                                                      \
  X(name, "", "policy", "", kProvenance)                                                              \
  X(sources, "", "from", "", kProvenance)                                                             \
  X(ns.user, "namespaces.user", "user", "", kSandbox)                                                 \
  X(ns.mount, "namespaces.mount", "mount", "", kSandbox)                                              \
  X(ns.pid, "namespaces.pid", "pid", "", kSandbox)                                                    \
  X(ns.ipc, "namespaces.ipc", "ipc", "", kSandbox)                                                    \
  X(ns.uts, "namespaces.uts", "uts", "", kSandbox)                                                    \
  X(ns.net, "namespaces.net", "net", "--net", kSandbox)                                               \
  X(ns.cgroup, "namespaces.cgroup", "cgroup", "", kSandbox)                                           \
  X(ns.time, "namespaces.time", "time", "", kSandbox)                                                 \
  X(identity.uid, "identity.uid", "uid inside", "--uid", kSandbox)                                    \
  X(identity.gid, "identity.gid", "gid inside", "--gid", kSandbox)                                    \
  X(identity.outside_uid_when_root, "identity.outside_uid", "outside (as root)", "", kSandbox)        \
  X(identity.outside_gid_when_root, "identity.outside_gid", "outside (as root)", "", kSandbox)        \
  X(mounts, "mount", "mount", "--bind --ro-bind --dev-bind --tmpfs --workdir", kSandbox)              \
  X(mount_proc, "filesystem.proc", "/proc", "", kSandbox)                                             \
  X(mount_dev, "filesystem.dev", "/dev", "", kSandbox)                                                \
  X(tmp_size, "filesystem.tmp_size", "/tmp", "--tmp-size", kSandbox)                                  \
  X(shm_size, "filesystem.shm_size", "/dev/shm", "--shm-size", kSandbox)                              \
  X(home, "filesystem.home", "home", "", kSandbox)                                                    \
  X(home_size, "filesystem.home_size", "home size", "--home-size", kSandbox)                          \
  X(tmpfs_inodes, "filesystem.tmpfs_inodes", "tmpfs inodes", "--tmpfs-inodes", kSandbox)              \
  X(chdir, "filesystem.chdir", "chdir", "--chdir --workdir", kSandbox)                                \
  X(hostname, "process.hostname", "hostname", "--hostname", kSandbox)                                 \
  X(new_session, "process.new_session", "new_session", "", kSandbox)                                  \
  X(die_with_parent, "process.die_with_parent", "die_with_parent", "", kSandbox)                      \
  X(new_keyring, "process.new_keyring", "new_keyring", "", kSandbox)                                  \
  X(pass_fds, "process.pass_fds", "pass_fds", "--pass-fd", kSandbox)                                  \
  X(host_terminal, "process.host_terminal", "host_terminal", "--host-terminal", kClient)              \
  X(env_keep, "process.env_keep", "env_keep", "--keep-env", kClient)                                  \
  X(env_set, "process.env", "env", "--setenv", kClient)                                               \
  X(seccomp.requirement, "seccomp.mode", "mode", "", kSandbox)                                        \
  X(seccomp.base, "seccomp.base", "base", "", kSandbox)                                               \
  X(seccomp.allow, "seccomp.allow", "allowed back", "--allow", kSandbox)                              \
  X(seccomp.deny, "seccomp.deny", "denied extra", "--deny", kSandbox)                                 \
  X(seccomp.count_denials, "seccomp.count_denials", "count denials", "", kSandbox)                    \
  X(landlock.requirement, "landlock.mode", "mode", "--landlock", kSandbox)                            \
  X(landlock.min_abi, "landlock.min_abi", "min abi", "", kSandbox)                                    \
  X(net.mode, "network.mode", "mode", "--net", kSandbox)                                              \
  X(net.allow, "network.allow", "allow", "--net-allow", kSandbox)                                     \
  X(net.listen, "network.listen", "listen", "--listen", kSandbox)                                     \
  X(limits.memory_bytes, "limits.memory", "memory", "--memory", kSandbox)                             \
  X(limits.pids, "limits.pids", "pids", "--pids", kSandbox)                                           \
  X(limits.cpus, "limits.cpus", "cpus", "--cpu", kSandbox)                                            \
  X(limits.timeout, "limits.timeout", "timeout", "--timeout", kClient)                                \
  X(limits.rlimits, "limits.rlimits", "rlimit", "--rlimit", kSandbox)                                 \
  X(limits.cgroup, "limits.cgroup", "cgroup", "", kSandbox)                                           \
  X(allow_nested_userns, "weaken.nested_userns", "nested user namespaces", "", kSandbox)            \
  X(keep_capabilities, "weaken.keep_capabilities", "capabilities kept", "", kSandbox)

// X(member, key in a [[mount]] entry, explain). `src` is written as `content` for kind kFile.
#define AIRLOCK_MOUNT_FIELDS(X)              \
  X(kind, "type", "bind/tmpfs/dir/...")      \
  X(src, "src", "<- SRC")                    \
  X(dst, "dst", "DST")                       \
  X(size_bytes, "size", "size")              \
  X(optional, "optional", "(optional)")      \
  X(origin, "", "[origin]")                  \
  X(layer, "layer", "changes in LAYER")      \
  X(fuse, "fuse", "(fuse-overlayfs)")

// X(member, TOML form, explain): one `NAME = "SOFT:HARD"` line in [limits.rlimits].
#define AIRLOCK_RLIMIT_FIELDS(X)      \
  X(name, "key", "rlimit NAME")       \
  X(soft, "SOFT", "soft")             \
  X(hard, "HARD", "hard")

#define AIRLOCK_POLICY_FIELD_INFO(member, toml, explain, cli, scope) \
  PolicyFieldInfo{#member, toml, explain, cli, FieldScope::scope},
inline constexpr PolicyFieldInfo kPolicyFields[] = {AIRLOCK_POLICY_FIELDS(AIRLOCK_POLICY_FIELD_INFO)};
#undef AIRLOCK_POLICY_FIELD_INFO

// Calls f(const PolicyFieldInfo&, member&) for every described field of `p`, in kPolicyFields order.
// P is Policy or const Policy; f is usually a generic lambda overloaded on the member's type.
template <class P, class F>
void ForEachPolicyField(P& p, F&& f) {
  size_t i = 0;
#define AIRLOCK_POLICY_FIELD_VISIT(member, toml, explain, cli, scope) f(kPolicyFields[i++], p.member);
  AIRLOCK_POLICY_FIELDS(AIRLOCK_POLICY_FIELD_VISIT)
#undef AIRLOCK_POLICY_FIELD_VISIT
}

// The same, over two policies at once: f(info, a.member, b.member) (comparisons, resets to defaults).
template <class A, class B, class F>
void ForEachPolicyField(A& a, B& b, F&& f) {
  size_t i = 0;
#define AIRLOCK_POLICY_FIELD_VISIT2(member, toml, explain, cli, scope) f(kPolicyFields[i++], a.member, b.member);
  AIRLOCK_POLICY_FIELDS(AIRLOCK_POLICY_FIELD_VISIT2)
#undef AIRLOCK_POLICY_FIELD_VISIT2
}

namespace policy_fields_detail {
// Counts the members of an aggregate: the largest N for which T{x1, ..., xN} compiles, where each x
// converts to any member type. Exact for these structs (no base classes, no arrays, no references);
// a nested aggregate member takes one x (the conversion wins over brace elision).
struct AnyMember {
  template <class T>
  operator T() const;  // declared only: used in unevaluated requires-expressions
};

template <class T, size_t... I>
constexpr bool InitializableWith(std::index_sequence<I...>) {
  return requires { T{(void(I), AnyMember{})...}; };
}

template <class T, size_t N = 0>
constexpr size_t MemberCount() {
  if constexpr (InitializableWith<T>(std::make_index_sequence<N + 1>{})) {
    return MemberCount<T, N + 1>();
  } else {
    return N;
  }
}

}  // namespace policy_fields_detail
using policy_fields_detail::MemberCount;

// Resets every field whose scope is not kSandbox to its default: what is left is exactly what the
// sandbox enforces (the pool key's input).
Policy SandboxPart(const Policy& policy);

}  // namespace airlock
