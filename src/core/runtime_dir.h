// The directory of a user's live airlock state: the pool's socket (pool/pool.h) and the registry of
// running sandboxes (`airlock ps`, `airlock stop`: cli/running.h). One rule, so both are always found
// in the same place.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace airlock {

// /run/airlock for root; $XDG_RUNTIME_DIR/airlock when $XDG_RUNTIME_DIR is a private directory of
// ours (not a symlink, our uid, mode 0700); else /tmp/airlock-UID when that directory is absent or
// private to us. /tmp is shared: when another local user took /tmp/airlock-UID first (their directory,
// a symlink, group/other permissions), the first /tmp/airlock-UID.XXXXXX that is a private directory
// of ours. `create` makes /tmp/airlock-UID or, if it is taken, such a directory with mkdtemp, and says
// so on stderr; the /run and $XDG_RUNTIME_DIR forms are created by their users (MakePrivateDirs).
std::string UserRuntimeDir(bool create);

// The runtime directories of other users that root may look into (`airlock ps --all`): every
// /tmp/airlock-UID[.XXXXXX] and /run/user/UID/airlock that is a private directory of the uid its name
// says, with that uid. Never the caller's own (UserRuntimeDir).
struct OtherRuntimeDir {
  std::string path;
  uid_t uid;
};
std::vector<OtherRuntimeDir> OtherUsersRuntimeDirs();

}  // namespace airlock
