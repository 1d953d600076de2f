// Credentials of airlock's network helpers (the user-mode stack and the netns setup helper).
//
// A helper is forked by airlock's parent, which may be root. Before it does its work it leaves the
// host's credentials for the sandbox's: it drops supplementary groups (root), joins the sandbox's
// user namespace, becomes the sandbox's user (root caller: the unprivileged outside uid, 65534 by
// default; ordinary caller: the caller), keeps only the capabilities it names - in the sandbox's
// user namespace, so none over the host - and sets no_new_privs and a parent-death signal. The
// capabilities are raised as ambient ones, so an exec()ed helper (slirp4netns, pasta) starts with
// exactly them and nothing else, whatever its uid inside.
//
// Runs in the forked child only: raw syscalls, no allocation (the parent may have threads).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace airlock {

// Bit masks over capability numbers (linux/capability.h), e.g. CapBit(CAP_NET_ADMIN).
constexpr uint64_t CapBit(int cap) { return uint64_t{1} << cap; }

// Child side of a helper's fork: see the file comment. `uid`/`gid` are the sandbox's inside ids
// (they must be mapped in the user namespace). On failure returns -errno and names the step in
// *step; the helper then reports it and exits.
int BecomeSandboxUserInHelper(int userns_fd, uid_t uid, gid_t gid, uint64_t caps, const char** step);

// Child side: reduces the permitted, effective, inheritable and ambient sets to `caps` (a subset of
// what the helper holds). Returns 0 or -errno.
int KeepOnlyCapsInHelper(uint64_t caps);

// The effective capability set of the calling thread (capget), or of /proc/PID/status's CapEff.
uint64_t EffectiveCapsOfSelf();
// "cap_net_admin", ... for each bit set (unknown bits as "cap_N").
std::vector<std::string> CapNames(uint64_t caps);

}  // namespace airlock
