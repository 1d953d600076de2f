// Directories airlock creates on the host are private: mode 0700 from the moment they exist (never
// created wider and narrowed later), so no other local user can read or swap what airlock puts in them.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>

#include "core/error.h"

namespace airlock {

// mkdir -p: every missing component of `path` is created with mode 0700 (whatever the umask); what
// already exists is left as it is. Fails if `path` ends up not being a directory.
Status MakePrivateDirs(const std::string& path);

// A directory only `uid` can enter: a real directory (an lstat result: a symlink is not one), owned by
// uid, with no group or other permission bits. What another local user made first never is.
bool IsPrivateDirOf(const struct stat& st, uid_t uid);

// The same check of `path` for the caller's effective uid, as an error that names `what` and the fix
// ("chmod 700 ..."); errno ENOENT is kept in the error when the path does not exist.
Status CheckPrivateDir(const std::string& path, const char* what);

}  // namespace airlock
