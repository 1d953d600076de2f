// User namespaces: who the sandbox is inside and outside.
//
// Unprivileged caller: inside uid/gid (default: the caller's) map to the caller's own uid/gid; the
// kernel allows exactly that one mapping after "deny" is written to setgroups.
// Root caller: the inside uid/gid (default 0) map to an unprivileged host uid/gid (default 65534), so a
// process that escapes every other layer is still an unprivileged user on the host. The namespace is
// also OWNED by that outside uid (TakeNamespaceOwnerIdsFromParent): the kernel charges the per-user
// counters of everything inside (inotify, namespaces, mqueues...: ucount/ucount.h) to the owner, and a
// sandbox owned by root would spend root's host-wide quotas.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/error.h"
#include "core/unique_fd.h"
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

// The calling thread's ids before TakeNamespaceOwnerIdsFromParent, for RestoreIdsFromParent.
struct SavedIds {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  int dumpable = 1;
  int pdeath_signal = 0;  // our own PR_SET_PDEATHSIG (a caller that supervises airlock set it)
  pid_t parent = 0;       // ... and the parent it watches
  bool changed = false;  // false: nothing was changed (not a root caller), nothing to restore
};

// Parent side, right before the fork-like clone(CLONE_NEWUSER) of a sandbox. A new user namespace is
// owned by its creator's effective uid, so for a root caller the calling THREAD (raw per-thread
// syscalls: other threads keep their ids) takes mapping.outside_uid/gid as effective ids, keeps real,
// saved and filesystem ids 0 (the child opens bind sources with root's host access before it takes
// the inside ids, child.h) and raises its effective capabilities again (kernels that restrict
// unprivileged user namespaces still let it create one). The process stays dumpable as it was, so the
// child starts as before. Unprivileged callers already own their namespaces: nothing changes.
Result<SavedIds> TakeNamespaceOwnerIdsFromParent(const IdMapping& mapping);
// Parent side, right after that clone returned in the parent (the child keeps the ids it has).
Status RestoreIdsFromParent(const SavedIds& saved);

// Parent side, after clone: writes /proc/PID/{uid_map,setgroups,gid_map}.
Status WriteIdMapsFromParent(pid_t child, const IdMapping& mapping);

// Parent side: a user namespace with exactly `mapping` (inside ids -> outside ids), held by the
// returned descriptor (/proc/PID/ns/user of a short-lived helper process, reaped before returning).
// Its use is MOUNT_ATTR_IDMAP: a tree idmapped with it shows a file owned on disk by the inside ids as
// owned by the outside ids, and writes those back as the inside ids. With inside 0 and the sandbox's
// outside ids, host root's files are the sandbox user's own (mount_plan.h, overlay layers of root callers).
Result<UniqueFd> MakeIdmapNamespaceFromParent(const IdMapping& mapping);

// Explains why user namespaces are unavailable (sysctls, AppArmor), or "" if they look available.
std::string DiagnoseUserNamespaces();

}  // namespace airlock
