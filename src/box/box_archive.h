// The box archive (`airlock box export/import/snapshot/restore`, docs/BOXES.md): the one format a box
// leaves its store in, and the rules its writer (airlock-boxtar export), its sandboxed reader
// (airlock-boxtar import) and the front end's check of what the reader wrote all share. Pure: no I/O.
//
// Format: a pax tar whose members are, in this order,
//   airlock-box.json                the manifest (ArchiveManifest): schema, kind, profile, trees, created
//   baseline.json                   optional: the box's conflict notes (box_commit.h)
//   layers/<i>/upper/<rel>          each layer's upper entries, parents before children: directories,
//                                   regular files, symlinks, fifos, whiteouts (char device 0:0); modes,
//                                   mtimes and `user.*` xattrs (SCHILY.xattr) as in the layer
// Names are raw bytes (pax hdrcharset=BINARY). Owners are written but never read: the importer's
// files are its own (root: host root, as a root box's layers are).
//
// Contract:
//  - ParseMemberName accepts only the names above, with i < tree_count and <rel> a relative path of
//    at most kMaxDepth components, none empty, "." or "..", no NUL; a trailing '/' (directories) is
//    dropped. Anything else is an error naming the member (its bytes as `\xNN`).
//  - XattrAllowed: only `user.*`, and of `user.overlay.*` only opaque, whiteout and whiteouts (what a
//    box's own overlay writes and reads, box_diff.h); `user.airlock.*` is airlock's own (the whiteout
//    mark below) and refused.
//  - The importer runs in a sandbox whose seccomp refuses character devices (mknodat), so it writes a
//    whiteout as an empty regular file carrying the xattr kWhiteoutMark; the front end turns each
//    one into the real whiteout (char 0:0) while it verifies the staging directory (box_import.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "box/box_store.h"
#include "core/error.h"

namespace airlock::box {

inline constexpr const char* kManifestMember = "airlock-box.json";
inline constexpr const char* kBaselineMember = "baseline.json";
inline constexpr const char* kWhiteoutMark = "user.airlock.whiteout";

// The bounds of an export or an import (a larger box is an error, never a partial archive or box).
inline constexpr size_t kMaxEntries = 1'000'000;
inline constexpr int kMaxDepth = 256;
inline constexpr uint64_t kMaxTotalBytes = 64ull << 30;   // regular files' data, all layers
inline constexpr size_t kMaxManifestBytes = 1u << 20;
inline constexpr size_t kMaxTrees = 64;

struct Member {
  enum class Kind { kManifest, kBaseline, kLayerEntry };
  Kind kind = Kind::kLayerEntry;
  size_t layer = 0;   // kLayerEntry: the archived tree's index
  std::string rel;    // kLayerEntry: path relative to that layer's upper ("" = the upper itself)
};

Result<Member> ParseMemberName(std::string_view name, size_t tree_count);
// The member name of `rel` in layer `layer` ("layers/0/upper/a/b").
std::string LayerMemberName(size_t layer, const std::string& rel);
bool XattrAllowed(std::string_view name);

struct ArchiveManifest {
  std::string profile;             // the exported box's profile (informational: an import chooses its own)
  std::vector<BoxTree> trees;      // archived layer i overlaid trees[i] on the exporting machine
  std::string created;             // UTC time of the export
  std::string source;              // the exported box's name
};

nlohmann::json ManifestToJson(const ArchiveManifest& m);
// Refuses what is not an airlock box export (wrong schema or kind, malformed or too many trees).
Result<ArchiveManifest> ParseManifest(std::string_view text);

// Which archived layer goes where: for each of `box_trees` (in order) the archived layer index with
// the same inside path, or -1 (the box starts with an empty layer there). An archived layer whose
// inside path no box tree has is an error naming `--over PATH:INSIDE`.
Result<std::vector<int>> MatchLayers(const std::vector<BoxTree>& archived, const std::vector<BoxTree>& box_trees);
// True when every archived tree's host path is the box's host path for that inside path (the same
// machine: the conflict notes still describe these host files).
bool SameHostTrees(const std::vector<BoxTree>& archived, const std::vector<BoxTree>& box_trees);

}  // namespace airlock::box
