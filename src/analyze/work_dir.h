// The directories airlock-analyze creates, all private (mode 0700, created fresh, never one that
// already existed):
//  - the report directory (--out) when it does not exist yet, owned by the caller;
//  - OUT/work, owned by the caller: nothing below it is reachable by another local user;
//  - OUT/work/{sample,tmp,home} and OUT/work/sample/members (the archive runner's unpacked members),
//    owned by the host identity the analysis sandboxes run as, so they can write there without any
//    group or other permission: the caller itself, or, when root runs airlock, the profile's
//    unprivileged outside ids (identity.outside_uid/outside_gid, userns/userns.h).
#pragma once

#include <sys/types.h>

#include <string>

#include "core/error.h"
#include "policy/profile_loader.h"

namespace airlock::analyze {

// HostIds and SandboxHostIds: policy/profile_loader.h.
using airlock::HostIds;
using airlock::SandboxHostIds;

// mkdir(path, 0700); fails if it exists. Then owned by `owner` (chown when it is not the caller).
Status MakePrivateDir(const std::string& path, HostIds owner);

// Removes OUT/work (a previous run's) and creates it afresh with its subdirectories, as above.
Status PrepareWorkDir(const std::string& work, bool with_members, HostIds owner);

}  // namespace airlock::analyze
