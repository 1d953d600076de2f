// An ATT&CK Navigator layer (https://github.com/mitre-attack/attack-navigator, layer format 4.5,
// domain enterprise-attack) of an airlock report: `airlock analyze` writes OUT/navigator.json (and
// `--navigator FILE`), the service serves /api/v1/tasks/ID/navigator.
//
// Contract:
//  - Techniques come from the report itself: its top-level `techniques`, and every finding anywhere in
//    it (an object with `rule` and a `techniques` list: scan objects' findings, analyze's static
//    findings, behaviour matches, dropped files' findings). Each technique appears once, with the
//    highest `severity` (0..10) of the findings that name it as its score (the report's score for one
//    named only at the top), and the findings that named it in its comment (their `title`, else their
//    `rule`; at most 10).
//  - Pure; the report may be any JSON (a non-object gives an empty layer); strings pass through
//    core/json_text.h when dumped.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace airlock {

nlohmann::json NavigatorLayer(const nlohmann::json& report, std::string_view name, std::string_view description);

}  // namespace airlock
