// Resource limits of one scan and the engine-side extension of AnalyzerOutput that unpackers use to
// stream under them. Defaults are documented in docs/SCAN.md and overridable on the command line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "scan/analyzer.h"

namespace airlock::scan {

struct ScanLimits {
  int max_depth = 16;                              // nesting depth of objects (input is depth 0)
  uint64_t max_total_bytes = 512ull << 20;         // all bytes extracted from one input
  uint64_t max_object_bytes = 128ull << 20;        // one object (input files are truncated here too)
  uint64_t max_entries = 10000;                    // objects produced from one input
  double max_ratio = 200.0;                        // per-entry decompressed:compressed
  uint64_t ratio_floor_bytes = 1ull << 20;         // the ratio is only checked past this output size
  int max_seconds = 60;                            // wall time per input
};

// Finding ids for limits (also listed in the report's `limits_hit`).
inline constexpr std::string_view kLimitDepth = "scan.limit.depth";
inline constexpr std::string_view kLimitTotal = "scan.limit.total_bytes";
inline constexpr std::string_view kLimitObject = "scan.limit.object_size";
inline constexpr std::string_view kLimitEntries = "scan.limit.entries";
inline constexpr std::string_view kLimitRatio = "scan.limit.ratio";
inline constexpr std::string_view kLimitTime = "scan.limit.time";

// The engine's collector implements this; unpackers dynamic_cast to it to learn the limits and to
// report a limit they hit while streaming. Analyzers given a plain AnalyzerOutput (detector tests)
// fall back to the defaults.
class LimitedOutput : public AnalyzerOutput {
 public:
  virtual const ScanLimits& Limits() const = 0;
  // Records a limit hit on the current object: a finding plus an entry in limits_hit.
  virtual void LimitHit(std::string_view limit_id, std::string detail) = 0;
};

// Limits for `out`: the engine's, or the defaults.
const ScanLimits& LimitsOf(const AnalyzerOutput& out);
// Reports a limit through `out` (LimitHit when the engine's, else a plain finding).
void ReportLimit(AnalyzerOutput& out, std::string_view limit_id, std::string detail);
// The finding the engine records for a limit hit.
Finding LimitFinding(std::string_view limit_id, std::string detail);

// An input file larger than limits.max_object_bytes (only its first part was scanned): no bomb, but
// an incomplete look. Padding a program, script, document or archive past scanners' limits is an
// evasion (T1027.001): those keep severity 5 (suspicious); plain data and media (mime
// application/octet-stream, image/, audio/, video/) get 3 and no technique. Same id as the limit
// (kLimitObject).
Finding OversizeInputFinding(std::string_view mime, uint64_t limit_bytes);

}  // namespace airlock::scan
