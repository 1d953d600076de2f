// What a box's changes mean (`airlock box review`, docs/BOXES.md): each added or changed path is held
// against rules for the places programs use to persist, escalate or hijack (shell start-up files,
// autostart entries, systemd units, cron, SSH keys, the dynamic loader, system binaries, setuid
// bits, device nodes), with ATT&CK technique IDs, and the box gets a verdict.
//
// Contract:
//  - Pure: a function of the change listing (box_diff.h) and the inside home directory; reads no file.
//  - Rules match the inside path: home-relative rules (".bashrc", ".ssh/authorized_keys") apply beneath
//    `home`; system rules to absolute paths. Deletions are judged only where removing is itself the act
//    (a deleted shell history or log is listed as T1070.003/T1070.002).
//  - Verdict: "malicious" when any finding is high, "suspicious" when any is medium, else "clean"
//    (low findings are information). Exit status of `box review`: 0 clean, 1 malicious, 2 error,
//    3 suspicious (as `airlock scan`).
//  - Findings carry the field names of the common report envelope: rule, severity, techniques,
//    evidence, object.
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
  std::string object;      // the inside path
};

struct Review {
  std::string verdict;     // "clean" | "suspicious" | "malicious"
  std::vector<ReviewFinding> findings;
};

Review ReviewChanges(const std::vector<Change>& changes, const std::string& home);
nlohmann::json ReviewToJson(const Review& review, size_t changes);
std::string ReviewToText(const Review& review, size_t changes);

}  // namespace airlock::box
