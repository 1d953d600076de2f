// User namespaces: who the sandbox is inside and outside.
//
// Unprivileged caller: inside uid/gid (default: the caller's) map to the caller's own uid/gid; the
// kernel allows exactly that one mapping after "deny" is written to setgroups.
// Root caller: the inside uid/gid (default 0) map to an unprivileged host uid/gid (default 65534), so a
// process that escapes every other layer is still an unprivileged user on the host.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/error.h"
#include "policy/policy.h"

namespace airlock {

struct IdMapping {
  uid_t inside_uid = 0;
  gid_t inside_gid = 0;
  uid_t outside_uid = 0;
  gid_t outside_gid = 0;
  bool caller_is_root = false;
};

// Parent side, before clone: decides the mapping from the policy and the caller's credentials.
Result<IdMapping> PlanIdMapping(const IdentityPolicy& identity);

// Parent side, after clone: writes /proc/PID/{uid_map,setgroups,gid_map}.
Status WriteIdMapsFromParent(pid_t child, const IdMapping& mapping);

// Explains why user namespaces are unavailable (sysctls, AppArmor), or "" if they look available.
std::string DiagnoseUserNamespaces();

}  // namespace airlock
