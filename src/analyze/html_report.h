// A self-contained HTML report (no scripts, no external resources) rendered from the JSON report.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace airlock::analyze {

std::string RenderHtmlReport(const nlohmann::json& report, const std::vector<nlohmann::json>& events);
std::string HtmlEscape(const std::string& s);

}  // namespace airlock::analyze
