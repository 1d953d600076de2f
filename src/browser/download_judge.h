// Judging one held download: static triage with `airlock scan` in its own sandbox
// (runapi/scan_request.h); a runnable one (an ELF, a #! script) is also detonated with `airlock analyze`
// in the analysis sandbox (sinkhole network, the behaviour rules) for kDetonateSeconds, and the worse of
// the two verdicts counts; then the browser's own facts on top (docs/BROWSER.md):
//  - a file built by a page script (a blob: or data: URL: HTML smuggling T1027.006, SVG smuggling
//    T1027.017 when the page was an SVG) is at least suspicious, whatever the scan says: held until
//    the user releases it;
//  - the verdict decides: clean -> released at once, suspicious -> held, malicious -> stays.
// A failed triage or detonation leaves the download "unjudged" (held; never released).
#pragma once

#include <string>
#include <vector>

#include "browser/quarantine.h"
#include "core/error.h"

namespace airlock::browser {

// The scanner's answer in the parts the quarantine keeps.
struct ScanAnswer {
  std::string verdict;  // clean | suspicious | malicious
  double score = 0;
  std::vector<std::string> techniques;
};

// Parses airlock-scan's --json report (top-level verdict, score, techniques).
[[nodiscard]] Result<ScanAnswer> ParseScanAnswer(const std::string& json_text);

// Pure: the scan's answer and the download's facts -> verdict, score, techniques, why, state.
void ApplyVerdict(const ScanAnswer& scan, HeldDownload& d);

inline constexpr int kDetonateSeconds = 20;

// Whether the held file starts like something that runs (ELF, "#!").
bool IsRunnable(const std::string& held_file);
// The worse of two answers (verdict by rank, the higher score, both techniques lists).
ScanAnswer Worse(const ScanAnswer& a, const ScanAnswer& b);
// `airlock analyze --json` of the held file (its report and work files in `out_dir`, removed
// afterwards), killed at twice kDetonateSeconds plus a minute; its verdict, score and techniques.
[[nodiscard]] Result<ScanAnswer> DetonateHeldFile(const std::string& held_file, const std::string& out_dir, int interrupt_fd);

// Runs the sandboxed scan of the held file (staged into `stage_dir`, a private directory the scanner's
// sandbox ids can read; removed afterwards) and applies the verdict. interrupt_fd: see process/spawn.h.
[[nodiscard]] Result<ScanAnswer> ScanHeldFile(const std::string& held_file, const std::string& stage_dir, int interrupt_fd);

}  // namespace airlock::browser
