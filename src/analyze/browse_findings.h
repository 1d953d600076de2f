// The browser runner's results in `airlock analyze`: airlock-browse's JSON summary (its stdout),
// downloads turned into behaviour hits, and dropped files annotated with the download they came from.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "analyze/verdict.h"

namespace airlock::analyze {

// The summary airlock-browse printed (its last stdout line that is a JSON object), or {"error": ...}.
nlohmann::json ParseBrowseSummary(const std::string& stdout_text);

// One hit per download the page started. Nothing in the sandbox ever clicks, so every download was
// started by the page's own script: "high" when it is a smuggled payload (a blob: or data: URL, or
// an executable or archive by its first bytes), "medium" otherwise. Technique T1027.017 for SVG
// samples, T1027.006 for HTML. `sandbox_tmp` is the host directory mounted at /tmp in the sandbox.
std::vector<BehaviorHit> BrowseHits(const nlohmann::json& summary, bool svg, const std::string& sandbox_tmp);

// Adds "download": {url, suggested_name, state} to the dropped files that are downloads.
void MarkDownloads(nlohmann::json& dropped, const nlohmann::json& summary);

// True when the sample is SVG (by name, or an <svg root before any <html in its first bytes).
bool IsSvgSample(const std::string& head, const std::string& name);

}  // namespace airlock::analyze
