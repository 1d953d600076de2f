// Filesystem helpers the box module shares (not a public contract of airlock_box).
#pragma once

#include <string>

#include "core/error.h"

namespace airlock::box {

// Removes everything beneath the directory `dirfd` (not the directory itself), never following a
// symlink; directories of mode 000 (a box may leave them) are made the owner's first. `path` names
// it in errors.
Status RemoveContents(int dirfd, const std::string& path);

// Replaces the file at `path` with `text`: written to `path`.tmp (mode 0600, no symlink followed),
// fsynced, renamed over it. Readers see the old or the new text, never a mix.
Status ReplaceFileAtomically(const std::string& path, const std::string& text);

}  // namespace airlock::box
