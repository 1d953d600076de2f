// What a box's files hold and what its runs did, as review findings (`airlock box review`,
// docs/BOXES.md): the box's side of the content scan (airlock-scan, run by the front end inside a
// sandbox, read only through its JSON report: docs/REPORT.md) and of the behaviour rules
// (`airlock-rules match` over a monitored box's run records: docs/SIGMA.md).
//
// Contract:
//  - StageForScan copies the content of every added or changed regular file of the box into `dir` as
//    0, 1, 2, ... (mode 0444), so a scanner running as other ids than the store's owner (a root
//    caller's sandbox) reads copies in a directory it may enter, and never the store itself, whose
//    modes stay as they are. Each file is opened beneath its upper layer with openat2
//    (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, O_NOFOLLOW, O_NONBLOCK): a symlink or a non-regular file
//    swapped in is not read. Bounded: a file over limits.max_file_bytes, or beyond max_files or
//    max_total_bytes, is not copied and gets a low BOX-NOT-SCANNED finding; a file that cannot be
//    opened or read gets a medium one (content hidden from the review is never clean by silence).
//    Errors: only a failure to write into `dir`.
//  - ScanDir is where the copies go: <parent>/scan-XXXXXX (mkdtemp: mode 0700, a fresh name), then
//    owned by the scanner sandbox's host ids (for a root caller the profile's unprivileged outside ids,
//    so no group or other permission is needed); removed with its contents when the object goes.
//  - ContentFindings maps the scanner's report of `<prefix>/<n>` back to paths[n]: one finding per
//    scanner finding of the object and its children (rule = the scanner's id, severity 7..10 high,
//    4..6 medium, else low, the scanner's techniques, evidence = title and evidence, with the child's
//    path for a member), plus BOX-SCAN-SCORE when the object's own verdict is worse than its worst
//    finding (several findings add up, docs/REPORT.md "Verdict"); an input the report lists as an
//    error, or does not list, gets a medium BOX-NOT-SCANNED. A report that is not the scanner's
//    (no "objects" array) is an error.
//  - BehaviourFindings maps `airlock-rules match` lines (one JSON match per line; other lines are
//    ignored) to findings: rule = the rule's title, severity from its level (critical, high -> high;
//    medium -> medium; else low), its ATT&CK techniques (upper case), evidence = what the event names
//    (CommandLine, TargetFilename or Image), object = the changed path the event names (TargetFilename,
//    SourceFilename, then Image), else "" (the box). One finding per (rule, object, evidence).
//  - Pure but for StageForScan's file system work; no global state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "box/box_diff.h"
#include "box/box_review.h"
#include "core/error.h"

namespace airlock::box {

struct ScanLimits {
  uint64_t max_file_bytes = 128ull << 20;   // airlock-scan's own object limit (--max-object-mib)
  uint64_t max_total_bytes = 2ull << 30;    // all copies of one review
  size_t max_files = 20000;
};

struct StagedScan {
  std::vector<std::string> paths;         // inside path of copy n
  std::vector<ReviewFinding> not_staged;  // BOX-NOT-SCANNED findings
};

class ScanDir {
 public:
  static Result<ScanDir> Make(const std::string& parent, uid_t uid, gid_t gid);
  ScanDir(ScanDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScanDir& operator=(ScanDir&&) = delete;
  ~ScanDir();
  const std::string& path() const { return path_; }

 private:
  explicit ScanDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

Result<StagedScan> StageForScan(const std::vector<LayerTree>& trees, const std::vector<Change>& changes, const std::string& dir,
                                const ScanLimits& limits = {});
Result<std::vector<ReviewFinding>> ContentFindings(const nlohmann::json& report, const std::vector<std::string>& paths,
                                                   const std::string& prefix);
std::vector<ReviewFinding> BehaviourFindings(std::string_view match_lines, const std::vector<Change>& changes);

}  // namespace airlock::box
