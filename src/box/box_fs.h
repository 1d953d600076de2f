// Filesystem helpers the box module shares (not a public contract of airlock_box).
#pragma once

#include <string>

#include "core/error.h"

namespace airlock::box {

// Removes everything beneath the directory `dirfd` (not the directory itself), never following a
// symlink; directories of mode 000 (a box may leave them) are made the owner's first. `path` names
// it in errors.
Status RemoveContents(int dirfd, const std::string& path);

}  // namespace airlock::box
