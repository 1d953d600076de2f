// What a box's changes mean (`airlock box review`, docs/BOXES.md): each added or changed path is held
// against rules for the places programs use to persist, escalate or hijack (shell start-up files,
// autostart entries, systemd units, cron, SSH keys, the dynamic loader, system binaries, setuid
// bits, device nodes), with ATT&CK technique IDs; the content and behaviour findings of box_triage.h
// are added to them (AddFindings); every changed path and the box get a verdict.
//
// Contract:
//  - Pure: a function of the change listing (box_diff.h), the inside home directory and the findings
//    added; reads no file.
//  - Rules match the inside path: home-relative rules (".bashrc", ".ssh/authorized_keys") apply beneath
//    `home`; system rules to absolute paths. Deletions are judged only where removing is itself the act
//    (a deleted shell history or log is listed as T1070.003/T1070.002).
//  - Verdict: "malicious" when any finding is high, "suspicious" when any is medium, else "clean"
//    (low findings are information). A path's verdict counts the findings whose object is that path;
//    the box's counts them all (object "" = the box as a whole: behaviour that names no changed path). Exit status of `box review`: 0 clean, 1 malicious, 2 error,
//    3 suspicious (as `airlock scan`).
//  - Findings carry the field names of the common report envelope: rule, severity, techniques,
//    evidence, object. Output: ReviewToJson keeps bytes raw (DumpJson writes invalid UTF-8 as `\xNN`);
//    ReviewToText writes every path and evidence as TextLine (box_diff.h): one finding, one line.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "box/box_diff.h"

namespace airlock::box {

struct ReviewFinding {
  std::string rule;        // "BOX-SHELL-STARTUP"
  std::string severity;    // "high" | "medium" | "low"
  std::vector<std::string> techniques;  // "T1546.004"
  std::string evidence;    // what was seen: "added file /home/sandbox/.bashrc"
  std::string object;      // the inside path ("" = the box as a whole)
};

struct Review {
  std::string verdict;     // "clean" | "suspicious" | "malicious"
  std::vector<ReviewFinding> findings;
  std::vector<std::string> paths;  // every changed inside path, in listing order (the per-path verdicts)
  std::vector<std::string> notes;  // what the review did not look at ("content not scanned (--no-scan)")
};

// The path rules over the listing (verdict set).
Review ReviewChanges(const std::vector<Change>& changes, const std::string& home);
// Adds findings (content, behaviour) and sets the verdict again.
void AddFindings(Review& review, std::vector<ReviewFinding> more);
// The report's number for a severity name: high 8, medium 6, low 3.
int SeverityScore(const std::string& severity);
// The verdict of these findings (the rule above).
std::string VerdictOf(const std::vector<const ReviewFinding*>& findings);
// The body of `box review --json` (docs/REPORT.md; the caller adds the envelope and "box"):
// {"verdict", "changes", "findings", "files": [{"path", "verdict", "findings"}], "notes"}: "files" has
// every changed path, its verdict and its findings (rule, severity 0..10 with its name as "level",
// techniques, evidence, object).
nlohmann::json ReviewToJson(const Review& review);
// "verdict: V (N changes, M findings)", the notes, then one line per finding.
std::string ReviewToText(const Review& review);

}  // namespace airlock::box
