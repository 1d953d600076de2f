// The full review of a box (`airlock box review`, and `airlock box commit`'s gate; docs/BOXES.md):
// the path rules (box/box_review.h), the content of every added or changed regular file triaged by
// airlock-scan inside a sandbox of the default profile (runapi/scan_request.h, over copies staged by
// box/box_triage.h), and for a monitored box the behaviour its runs recorded, matched against the
// project's Sigma rules by airlock-rules.
//
// Contract:
//  - A part that was asked for and could not be done (airlock, airlock-scan or airlock-rules not found,
//    the scanner or the matcher failing, its report unreadable, the staging directory not made) is an
//    error naming what was not done: an incomplete review is never returned as clean.
//  - Without `scan`, the content is not looked at and the review says so in its notes; a box not
//    created with --monitor has no behaviour to match, and the notes say that too.
//  - airlock-rules runs outside a sandbox over the run records (airlock's own JSON lines), as analyze
//    matches its events in-process; the scanner, which parses the files themselves, never does.
#pragma once

#include <vector>

#include "box/box_diff.h"
#include "box/box_review.h"
#include "box/box_store.h"
#include "core/error.h"

namespace airlock::cli {

struct ReviewOptions {
  bool scan = true;  // false: --no-scan
};

Result<box::Review> FullReview(const box::BoxInfo& b, const std::vector<box::Change>& changes, const ReviewOptions& options);

}  // namespace airlock::cli
