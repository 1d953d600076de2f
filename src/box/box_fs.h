// Filesystem helpers the box module shares (not a public contract of airlock_box).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <linux/openat2.h>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::box {

// Removes everything beneath the directory `dirfd` (not the directory itself), never following a
// symlink; directories of mode 000 (a box may leave them) are made the owner's first. `path` names
// it in errors.
Status RemoveContents(int dirfd, const std::string& path);

// RemoveContents of the directory `path`, then the directory itself (`path` opened O_NOFOLLOW).
Status RemoveTree(const std::string& path);

// Replaces the file at `path` with `text`: written to `path`.tmp (mode 0600, no symlink followed),
// fsynced, renamed over it. Readers see the old or the new text, never a mix.
Status ReplaceFileAtomically(const std::string& path, const std::string& text);

// Copies at most `max` bytes of `src` into `dst`, resuming short writes and retrying EINTR: 0, or the
// errno of the call that failed (a full disk: ENOSPC), with *read_failed (when given) saying whether
// it was the read side.
int CopyData(int src, int dst, uint64_t max = UINT64_MAX, bool* read_failed = nullptr);

// openat2 resolution for every path beneath a box's or a tree's root: never through a symlink.
inline constexpr uint64_t kBeneath = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

// The directory holding `rel` beneath `root` (O_PATH, reached with kBeneath: a symlink or a missing
// directory on the way is an error naming it) and, in *leaf, the last component of `rel`.
Result<UniqueFd> OpenParentBeneath(int root, const std::string& rel, std::string* leaf);

// The names in the directory `fd` (not "." or ".."), sorted bytewise; `where` names it in errors.
// `buffer` is the getdents64 buffer, reused between calls (sized here when empty).
Result<std::vector<std::string>> ReadDirNames(int fd, const std::string& where, std::vector<char>& buffer);

}  // namespace airlock::box
