// The box store (`airlock box`, docs/BOXES.md): where named copy-on-write boxes live and how they are
// created, found, locked, emptied and removed. Nothing here mounts anything: a run mounts a box's
// layers through MountEntry::Kind::kOverlay (BoxOverlayMounts).
//
// Contract:
//  - Layout: <store>/<name>/{box.json, lock, layers/<i>/{upper,work}, events/}, one layer per overlaid
//    tree (in the order of BoxInfo::trees); events/ holds a monitored box's run records (below). Every directory is created mode 0700 (core/private_dir.h) and owned
//    by the caller; box.json is written to a temporary file and renamed.
//  - Verified on every use (OpenBox): the store and the box directory are real directories (no symlink),
//    owned by the caller and not group/other accessible; box.json parses and names this box; each layer
//    has upper/ and work/ directories. A store that fails any check is refused, naming the fix.
//  - The store must hold overlayfs upper layers: CreateBox refuses a filesystem without user xattrs
//    (ramfs, some network filesystems), where overlayfs could record no opaque directory.
//  - Names: 1-64 bytes of [A-Za-z0-9._-], not starting with '.' or '-'.
//  - Locking: LockBox takes an exclusive flock on <box>/lock: one run, diff-changing operation
//    (discard) or removal at a time; the second is refused ("in use") after at most `grace`. A run
//    holds it for its whole life (the kernel also refuses a second overlay on an upper layer in use).
//    The grace covers a command killed a moment ago: a child it forked holds the lock (fork shares the
//    open file) until that child's exec or exit, a few milliseconds later.
//  - The default store: $AIRLOCK_BOX_STORE, else /var/lib/airlock/boxes for root, else
//    $XDG_DATA_HOME/airlock/boxes, else $HOME/.local/share/airlock/boxes.
//  - Monitored boxes (BoxInfo::monitor, "monitor": true in box.json): every run's behaviour events go
//    to events/<UTC start>.jsonl (docs/EVENTS.md), mode 0600, created exclusively; `box review` matches
//    them against the Sigma rules. DiscardAll clears them with the changes (the behaviour belonged to
//    what is thrown away); a commit keeps them; RemoveBox removes them with the box.
//  - Removal of box content (DiscardAll, RemoveBox) never follows a symlink and makes unreadable
//    directories the box created readable to its owner first (descriptor-relative walk).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "box/box_diff.h"
#include "core/error.h"
#include "core/unique_fd.h"
#include "policy/policy.h"

namespace airlock::box {

struct BoxTree {
  std::string host;    // absolute host directory (the overlay's lower tree)
  std::string inside;  // absolute path inside the sandbox
};

// The overlay drivers (docs/BOXES.md): the kernel's overlayfs, mounted by the sandbox in its user
// namespace, or fuse-overlayfs, run by the sandbox (mount/mount_plan.h MountOp::fuse) where the kernel
// cannot mount overlayfs in a user namespace. Chosen at CreateBox, fixed for the box's life (the two
// write their upper layers differently, box_diff.h). A box.json without "overlay" is a kernel box.
inline constexpr char kOverlayKernel[] = "kernel";
inline constexpr char kOverlayFuse[] = "fuse";

// What a box is made with besides its trees, fixed at creation (box.json).
struct BoxSettings {
  bool monitor = false;                  // every run records its behaviour events (BoxInfo::EventsDir)
  std::string overlay = kOverlayKernel;  // kOverlayKernel or kOverlayFuse
};

struct BoxInfo {
  std::string name;
  std::string profile;           // the box's policy by default (`box run` may override)
  std::vector<BoxTree> trees;
  std::string created;           // UTC, core/clock.h format
  std::string dir;               // <store>/<name>
  std::string last_used;         // UTC start of the last run ("" = never run)
  bool monitor = false;          // every run records its behaviour events in EventsDir()
  std::string overlay = kOverlayKernel;  // what mounts the trees: kOverlayKernel or kOverlayFuse (box.json "overlay")

  std::string LayerDir(size_t i) const;  // dir/layers/<i>
  std::string UpperDir(size_t i) const;  // LayerDir(i)/upper
  std::string EventsDir() const;         // dir/events
};

std::string DefaultStore();
Status CheckBoxName(const std::string& name);

// Creates the box (and the store) or fails if it exists; trees must be absolute existing directories.
Result<BoxInfo> CreateBox(const std::string& store, const std::string& name, const std::string& profile,
                          const std::vector<BoxTree>& trees, const BoxSettings& settings = {});
// A new directory <store>/.<prefix>-XXXXXX (mode 0700; the store is made and verified first) where a
// box is assembled before it appears under its name: never listed, never opened as a box.
Result<std::string> MakeStagingDir(const std::string& store, const std::string& prefix);
// Makes the assembled directory `staged` (holding layers/<i>/{upper,work} for each tree, and perhaps
// baseline.json) the box `name`: box.json and lock are written there, then it is renamed to
// <store>/<name> in one step (renameat2 RENAME_NOREPLACE: an existing box is never replaced). On an
// error `staged` is left for the caller to remove. CreateBox is this with empty layers.
Result<BoxInfo> PlaceStagedBox(const std::string& store, const std::string& name, const std::string& profile,
                               const std::vector<BoxTree>& trees, const std::string& staged, const BoxSettings& settings = {});
Result<BoxInfo> OpenBox(const std::string& store, const std::string& name);
// Each host tree is still an existing directory (a tree removed or renamed since `create` is named,
// with the fix); checked before a run and a commit so neither starts on a vanished tree.
Status CheckHostTrees(const BoxInfo& box);
// Every box of the store, by name; a store that does not exist yet holds none.
Result<std::vector<BoxInfo>> ListBoxes(const std::string& store);
// The exclusive lock (see above): fails with "box NAME is in use" when still held elsewhere after
// `grace` (0: at once, for a listing that only asks whether the box is in use).
inline constexpr std::chrono::milliseconds kLockGrace{2000};
Result<UniqueFd> LockBox(const BoxInfo& box, std::chrono::milliseconds grace = kLockGrace);
// Records the start of a run (BoxInfo::last_used, in box.json); the caller holds the lock.
Status RecordUse(BoxInfo& box);
// A new events file for the run starting at `utc_start` (core/clock.h format), in EventsDir() (created
// private): opened write-only, mode 0600, never an existing file. The caller holds the lock.
Result<UniqueFd> OpenRunEvents(const BoxInfo& box, const std::string& utc_start);
// The events files of the box's runs (absolute paths, oldest first); none when no run was recorded.
Result<std::vector<std::string>> RunEventFiles(const BoxInfo& box);
// Empties every layer (upper and work) and the run records; the caller holds the lock.
Status DiscardAll(const BoxInfo& box);
// Throws away the box's changes at these inside paths (each with everything beneath it): the host's
// version shows again, unless the path lies in a directory the box added or replaced (then it is
// gone). A path the box did not change is reported in *untouched. In a fuse box a `.wh.NAME` whiteout
// of the path (box_diff.h) goes with it. The caller holds the lock.
Status DiscardPaths(const BoxInfo& box, const std::vector<std::string>& inside_paths, std::vector<std::string>* untouched);
// Removes the box's directory; the caller holds the lock.
Status RemoveBox(const BoxInfo& box);
// Bytes held by the box's layers (regular files' sizes; no symlink followed).
uint64_t BoxBytes(const BoxInfo& box);

// The box's trees as the change listing reads them (box_diff.h): inside path, host tree, upper layer.
std::vector<LayerTree> LayersOf(const BoxInfo& box);

// The policy's mounts for a run in the box: each tree's overlay replaces whatever the policy mounts at
// that inside path (a ro-bind of /usr, say) and is added after it.
void AddBoxOverlays(const BoxInfo& box, Policy& policy);

}  // namespace airlock::box
