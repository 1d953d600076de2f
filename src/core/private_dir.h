// Directories airlock creates on the host are private: mode 0700 from the moment they exist (never
// created wider and narrowed later), so no other local user can read or swap what airlock puts in them.
#pragma once

#include <string>

#include "core/error.h"

namespace airlock {

// mkdir -p: every missing component of `path` is created with mode 0700 (whatever the umask); what
// already exists is left as it is. Fails if `path` ends up not being a directory.
Status MakePrivateDirs(const std::string& path);

}  // namespace airlock
