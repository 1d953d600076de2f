// The sandboxed static triage: the one `airlock run` request that runs airlock-scan --json with least
// privilege (docs/STYLE.md "untrusted parsers run with least privilege"), shared by `airlock analyze`
// (the sample, dropped files) and `airlock box review` (a box's added and changed files).
//
// Contract:
//  - The request: the default profile; airlock-scan --in-sandbox (it is confined already: its encrypted
//    archive tools run in this sandbox, not in one of their own); the scanner's directory read-only at /opt/airlock-scan; the rule
//    directory (the one holding yara/) read-only at /rules with AIRLOCK_RULES_DIR=/rules; every input
//    directory or file read-only at its sandbox path; XDG_CACHE_HOME=/tmp (the compiled-rule cache
//    stays in the sandbox); memory 2g; the timeout given; an interrupt kills the sandbox
//    (KillOnInterrupt). With `extract_dir`, that host directory is the one writable bind, at /out,
//    and the scanner gets --extract /out.
//  - The sandbox runs as the caller, or for a root caller as the profile's unprivileged outside ids:
//    every input must be readable by them from its bind root down (a root caller stages copies in a
//    directory those ids own, as analyze/work_dir.h and box review do); the path above the bind root
//    is opened by `airlock run` itself.
//  - Like RunRequest, nothing here touches the file system; an empty `rules` binds no rule directory
//    (the scanner then has only its built-in detectors).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runapi/run_request.h"

namespace airlock::runapi {

struct ScanJob {
  std::string airlock;   // the front end (core/helper_path.h FindHelper("airlock"))
  std::string scanner;   // airlock-scan on the host (FindHelper("airlock-scan"))
  std::string rules;     // host rule directory holding yara/ ("" = none)
  std::vector<std::pair<std::string, std::string>> inputs;  // host path -> sandbox path, read-only
  std::vector<std::string> targets;  // sandbox paths given to the scanner, in order
  std::string extract_dir;           // host directory for --extract ("" = no extraction)
  std::string timeout = "300s";
};

// The request as described above (Argv() reports a bad path or duration).
RunRequest ScanRequest(const ScanJob& job);

}  // namespace airlock::runapi
