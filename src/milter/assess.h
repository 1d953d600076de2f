// From a scan report (docs/REPORT.md JSON) to what the milter needs: the message's verdict, score,
// techniques and its attachments (the message's direct MIME parts, each judged over its subtree),
// merged with detonation verdicts; and from a verdict to the configured action. Verdicts are those of
// core/report_envelope.h and fail closed: a report or attachment without a known verdict is "error"
// (ranked above suspicious, below malicious), and Filter::Process fails such a message (tempfail, or
// delivered with a FAIL-OPEN log line under fail_open) instead of accepting it as clean.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "milter/config.h"
#include "milter/strip.h"

namespace airlock::milter {

struct AttachmentInfo {
  std::string name, type, sha256, verdict = "clean";
  double score = 0;
  std::vector<std::string> techniques;
};

struct MessageAssessment {
  std::string verdict = "clean";
  double score = 0;
  std::vector<std::string> techniques;   // sorted, unique
  std::vector<AttachmentInfo> attachments;
};

std::string VerdictForScore(double score);
MessageAssessment AssessReport(const nlohmann::json& report);
// Raises the attachment with `sha256` (and the message) to at least this verdict/score.
void MergeVerdict(MessageAssessment& a, const std::string& sha256, const std::string& verdict, double score,
                  const std::vector<std::string>& techniques);
Action ActionFor(const MilterConfig& config, const std::string& verdict);
// The attachments strip removes: malicious ones, and suspicious ones when suspicious mail is stripped.
std::map<std::string, Removal> StripSet(const MilterConfig& config, const MessageAssessment& a);

nlohmann::json AssessmentToJson(const MessageAssessment& a);
MessageAssessment AssessmentFromJson(const nlohmann::json& j);

}  // namespace airlock::milter
