// Keeping what a box changed (`airlock box commit`, docs/BOXES.md): the box's changes copied to the
// host trees, each path atomically, refusing conflicts, never following a symlink on either side.
//
// Contract:
//  - Baseline: after every run, RecordBaseline notes for each path the box changed or deleted that the
//    host has (and that has no note yet) the host's lstat (inode, size, mtime, ctime): what the box saw.
//    A host path whose ctime is at or after the run's start changed during the box's life: noted as a
//    conflict at once (a change between the run's start and the copy-up is counted too: safe side).
//    Notes live in <box>/baseline.json, written to a temporary file and renamed.
//  - Conflicts (refused without `force`, listed): a changed or deleted path whose host lstat differs
//    from its note, or that has no note or a conflict note; an added path the host has meanwhile made
//    (unless it already holds exactly the box's content: a commit that was interrupted); a path listed
//    as added that has a note (the host removed what the box saw and changed there).
//  - Applying, in path order: a regular file or symlink is written to a temporary name in the host
//    directory (".airlock-commit.XXXXXX") then renamed over the target (each host file is either as
//    before or as after, never torn; a SIGKILL can leave a temporary file behind, never a half file);
//    a directory is made; a deletion removes the host entry (a directory with everything beneath it);
//    a replaced directory is emptied first. Host directories are reached with openat2
//    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS from the tree's root: a symlink on the way (planted by
//    anyone) fails that path, it is never followed. Box files are read the same way.
//  - Never carried: setuid/setgid bits (stripped, reported), device nodes, fifos, sockets (refused,
//    reported). Ownership: files keep the host owner of the file they replace, or take the owner of
//    the directory they are made in (root callers); a user's files are theirs.
//  - A path already as the box has it (same type, same content) is skipped: committing again after an
//    interruption finishes the work. Committed paths are then dropped from the box (its upper layer);
//    what was not committed stays in the box.
//  - The caller holds the box's lock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "box/box_diff.h"
#include "box/box_store.h"
#include "core/error.h"

namespace airlock::box {

Status RecordBaseline(const BoxInfo& box, int64_t run_start_ns);

struct CommitOptions {
  std::vector<std::string> only;  // inside paths (each with what is beneath it); empty = every change
  bool force = false;             // apply conflicting paths too
};

struct CommitResult {
  std::vector<std::string> applied;      // inside paths written to the host
  std::vector<std::string> skipped;      // already as the box has them
  std::vector<std::string> conflicts;    // "path: why" (not applied unless forced)
  std::vector<std::string> refused;      // "path: why" (special files)
  std::vector<std::string> stripped;     // paths whose setuid/setgid bits were dropped
};

Result<CommitResult> CommitBox(const BoxInfo& box, const CommitOptions& options);

}  // namespace airlock::box
