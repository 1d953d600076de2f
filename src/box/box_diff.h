// The change listing of a box (`airlock box diff`, docs/BOXES.md): what the box changed relative to the
// host, like `docker diff`, read from each tree's overlayfs upper layer alone plus an lstat of the
// corresponding host (lower) path. Nothing is mounted and nothing is written.
//
// Contract:
//  - The upper layer is read as the kernel wrote it in userxattr mode (the box's overlay is mounted
//    inside a user namespace): xattrs `user.overlay.*`; `trusted.overlay.*` is accepted too where it
//    is readable (root). Per upper entry, with `host` = the lower path of the same name:
//      whiteout (char device 0:0; or a zero-size regular file with `overlay.whiteout` in a directory
//        marked `overlay.opaque` = "x" or `overlay.whiteouts`, the kernel's own rule) -> kDeleted when
//        the host has the path (type: the host's), nothing when it has not;
//      directory with `overlay.opaque` = "y" -> kReplaced when the host has a directory there (its
//        contents are hidden), kChanged when the host has a non-directory, else kAdded; its entries
//        are all kAdded ("x" means "holds xattr whiteouts", not opaque);
//      other directory, host has a directory -> merged: listed (kChanged) only when mode, owner or
//        group differ from the host's; its entries are compared in turn;
//      anything else -> kChanged when the host has the path (of any type: a file replaced by a
//        symlink, a directory replaced by a file), else kAdded. Entries beneath an upper directory
//        whose host path is not a directory are all kAdded.
//    Whiteouts beneath a directory that hides the host's (opaque, added, type changed) hide nothing and
//    are not listed. The tree roots themselves are never listed (the upper root is the store's).
//  - A fuse-overlayfs upper layer (LayerTree::fuse: a box made with `"overlay": "fuse"`, box_store.h) is
//    read as fuse-overlayfs 1.10 writes it, which differs in three ways: names starting with `.wh.` are
//    its own (it refuses to create such a name for the payload, EINVAL), so `.wh..wh..opq` (a file) and
//    `.wh..opq` (a whiteout beside it) mark their directory opaque and are never listed, and `.wh.NAME`
//    is a whiteout of NAME (its form where whiteout device nodes cannot be made); a directory is opaque
//    when it holds `.wh..wh..opq` or carries "y" in `user.fuseoverlayfs.opaque`, `user.overlay.opaque`
//    or `trusted.overlay.opaque` (fuse-overlayfs honours all three, and lets the payload set
//    `user.overlay.opaque`); the kernel's xattr whiteouts are not interpreted (fuse-overlayfs shows
//    them as files). Char 0:0 whiteouts are read as in the kernel's format. A `.wh.NAME` beside an
//    upper NAME hides nothing (the upper entry is what shows).
//    `overlay.redirect` and `overlay.metacopy` are not interpreted (boxes mount with metacopy=off and
//    create no redirects: redirect_dir=nofollow, since "off" means "follow" on kernels built with
//    redirect_always_follow and then conflicts with userxattr): such an entry is listed as what it is
//    at its own path.
//  - No symlink is ever followed beneath the roots: the walk is descriptor-relative (getdents64,
//    fstatat AT_SYMLINK_NOFOLLOW, openat2 O_NOFOLLOW with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, in
//    upper and lower alike). A symlink in upper is listed as a symlink. A host (lower) component that
//    is a symlink is a non-directory, exactly as overlayfs sees it: the upper directory of that name
//    is kChanged (type "dir" replacing the host's symlink) and everything beneath it kAdded, whatever
//    the symlink points at. A directory replaced by something else between lstat and open is an error.
//  - The roots: `upper` is opened with O_NOFOLLOW (a symlink there is an error); `lower` is opened as
//    the overlay mount resolved it (symlinks in the configured path are followed). A missing host
//    tree (ENOENT/ENOTDIR) means "the host has nothing": every upper entry is kAdded. Host lookups
//    cross mount points as the host sees them (the box's overlay sees what they cover: a box tree
//    should hold no mount point).
//  - Bounded work on a hostile upper: more than max_entries upper entries read (each is at most one
//    change) or an entry deeper than max_depth components below its root is an error, as is any
//    unreadable upper directory or entry and any failed host lookup other than "does not exist"; the
//    error names the real path (in the upper layer or the host tree). Never a silent skip, never a
//    partial listing.
//  - The result is sorted by inside path (bytewise; stable for overlapping trees). Paths are raw
//    bytes; ChangesToJson keeps them raw and DumpJson (core/json_text.h) writes invalid UTF-8 as
//    `\xNN`; ChangesToText also escapes control bytes (a newline in a name cannot split a line).
//  - Pure functions of the filesystem; no global state; safe to call from any thread.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace airlock::box {

// One overlaid host tree of a box.
struct LayerTree {
  std::string inside;  // absolute path inside the sandbox ("/home/alice", "/usr")
  std::string lower;   // host directory (absolute): the real host tree
  std::string upper;   // host directory (absolute): the box's upper layer for this tree
  bool fuse = false;   // the upper layer is fuse-overlayfs's (contract above), not the kernel's
};

// fuse-overlayfs's own names in an upper layer (contract above).
inline constexpr char kFuseWhiteoutPrefix[] = ".wh.";
inline constexpr char kFuseOpaqueMarker[] = ".wh..wh..opq";
inline constexpr char kFuseOpaqueWhiteout[] = ".wh..opq";
bool IsFuseOpaqueMarker(const std::string& name);  // one of the two names that mark a directory opaque

struct Change {
  enum class Kind { kAdded, kChanged, kDeleted, kReplaced };  // kReplaced: opaque directory over the host's
  Kind kind = Kind::kAdded;
  std::string path;      // absolute inside path, raw bytes (may be invalid UTF-8)
  std::string type;      // "file","dir","symlink","fifo","socket","char","block" (deleted: the host's type)
  uint64_t size = 0;     // regular files: bytes of the box's version
  mode_t mode = 0;       // permission bits (07777) of the box's version (deleted: 0)
  bool setid = false;    // a regular file of the box with the setuid or setgid bit
  bool special = false;  // device node, fifo or socket in the box (never carried to the host)
  std::string relative;  // path relative to the tree (for the committer): "a/b/c"
  size_t tree = 0;       // index of its LayerTree in the trees given to DiffLayers
};

struct DiffOptions {
  // Absolute inside paths to limit to, each with everything beneath; empty = all. A change is listed
  // only at or beneath one: a path beneath a directory the box deleted or replaced lists nothing.
  std::vector<std::string> only;
  size_t max_entries = 1'000'000;  // refuse (error) beyond this many upper entries: bounded work
  int max_depth = 256;             // refuse (error) an entry more components than this below its root
};

// Lists the changes of every tree, sorted by path (contract above).
Result<std::vector<Change>> DiffLayers(const std::vector<LayerTree>& trees, const DiffOptions& options = {});

const char* ChangeKindName(Change::Kind k);  // "added","changed","deleted","replaced"
char ChangeKindLetter(Change::Kind k);       // 'A','C','D','R' (docker diff style)

// A JSON array, one object per change: {"kind","path","type","setid","special"} always, "mode" ("0644",
// octal text) unless deleted, "size" for regular files of the box. Strings are raw bytes (DumpJson).
nlohmann::json ChangesToJson(const std::vector<Change>& changes);
// One line per change, "A /path (file, 12 B)", "D /path (dir)", "C /path (symlink)", with ", setid" and
// ", special" appended where they hold; paths as TextLine writes them.
std::string ChangesToText(const std::vector<Change>& changes);
// `bytes` for one line of text: invalid UTF-8 and control bytes (C0, DEL) as `\xNN`; the rest as is.
std::string TextLine(std::string_view bytes);

}  // namespace airlock::box
