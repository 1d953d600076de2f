// Boxes out of and into archives (`airlock box export/import/snapshot/restore/snapshots`,
// `create --from`; docs/BOXES.md): the front end's side. The archive format is box_archive.h; the
// parsing and writing happen in the airlock-boxtar helper (box/boxtar.h), found with FindHelper, so
// the `airlock` binary never links libarchive.
//
// Contract:
//  - One format, one code path: a snapshot is an export written to <box>/snapshots/<SNAP>.tar; a
//    restore is an import into fresh layers swapped in atomically; `create --from BOX/SNAP` is an
//    import of that snapshot as a new box.
//  - Export runs the helper as the caller (the box's files are the caller's), never following a
//    symlink; the archive appears complete at its path or not at all (written to PATH.part first).
//  - Import runs the helper inside `airlock run` (default profile, the archive as its stdin, only a
//    staging directory writable at /out, 1 GiB of memory, one hour): a hostile archive reaches only
//    the staging directory, owned by the sandbox's host ids. When the sandbox has ended, the staging
//    directory is verified without following a symlink (only the known layout; only regular files,
//    directories, symlinks, fifos and whiteout marks in the layers; only allowed xattrs; setid bits
//    dropped; bounds of box_archive.h), whiteout marks become whiteouts (char 0:0), and a root
//    caller's files are chowned to root. Only then is it moved into place. On any error it is
//    removed: no partial box, no half-restored box.
//  - Trees: the importer's trees decide (ImportOptions::trees); archived layers go to the tree with
//    the same inside path (MatchLayers). The archived baseline is kept only on the same host trees.
//  - Restore: the fresh layers are swapped with the box's in one renameat2(RENAME_EXCHANGE), then
//    baseline.json is replaced with the snapshot's and the old layers removed. A crash leaves
//    <box>/restore.tmp (and <box>/snapshots/*.part), which CleanLeftovers removes; never used.
//  - Export, snapshot, restore and CleanLeftovers need the box's lock (LockBox), held by the caller.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "box/box_store.h"
#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::box {

inline constexpr size_t kMaxSnapshots = 64;

struct TransferSummary {
  uint64_t entries = 0;                     // archive members
  uint64_t bytes = 0;                       // regular files' data
  double seconds = 0;
  uint64_t setid_dropped = 0;               // import: setuid/setgid bits dropped
  std::vector<std::string> sockets_skipped; // export: sockets left out (their paths)
  bool baseline_dropped = false;            // import: other host trees, conflict notes dropped
};

Result<TransferSummary> ExportBox(const BoxInfo& box, const std::string& out_path);

struct ImportOptions {
  std::string profile = "default";
  std::vector<BoxTree> trees;
  BoxSettings settings;  // the new box's (an archive never chooses them)
};
// A new box `name` in `store` from the archive read from `archive_fd`.
Result<TransferSummary> ImportBox(const std::string& store, const std::string& name, int archive_fd, const ImportOptions& options);

// Snapshot names follow CheckBoxName's rule.
std::string SnapshotPath(const BoxInfo& box, const std::string& snap);
Result<UniqueFd> OpenSnapshot(const BoxInfo& box, const std::string& snap);
// Refused when SNAP exists or the box holds kMaxSnapshots already.
Result<TransferSummary> SnapshotBox(const BoxInfo& box, const std::string& snap);
Result<TransferSummary> RestoreBox(const BoxInfo& box, const std::string& snap);
Status RemoveSnapshot(const BoxInfo& box, const std::string& snap);

struct SnapshotInfo {
  std::string name;
  std::string created;  // UTC "YYYY-mm-dd HH:MM:SS" (the archive's modification time)
  uint64_t bytes = 0;   // the archive's size
};
Result<std::vector<SnapshotInfo>> ListSnapshots(const BoxInfo& box);

Status CleanLeftovers(const BoxInfo& box);

}  // namespace airlock::box
