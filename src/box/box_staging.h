// What the sandboxed importer (airlock-boxtar import) left in a staging directory, checked before a box
// is made of it (box_transfer.h). Internal to src/box.
//
// Contract: VerifyStaging accepts only DIR/{airlock-box.json, baseline.json?, layers/<i>/upper} with
// exactly the manifest's trees; beneath each upper only directories, regular files, symlinks and
// fifos (never following a symlink; bounds of box_archive.h), xattrs XattrAllowed accepts, and empty
// files carrying kWhiteoutMark, which become whiteouts (char 0:0). Setid bits still there are dropped
// (counted). Everything, DIR included, ends owned by uid:gid when the caller is root (a root box's
// layers are host root's). Directories the box left closed (mode 000) are opened for the walk and
// closed again. The sandbox must have ended: nothing else may write DIR meanwhile.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "box/box_archive.h"
#include "core/error.h"

namespace airlock::box {

struct StagedArchive {
  ArchiveManifest manifest;
  uint64_t setid_dropped = 0;
};

Result<StagedArchive> VerifyStaging(const std::string& dir, uid_t uid, gid_t gid);

}  // namespace airlock::box
