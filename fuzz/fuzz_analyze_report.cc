// Fuzzes `airlock analyze`'s report (src/analyze/analysis_report.h) with what a sample controls: the
// sample's name, its output, the names in its events (written by the monitor's JsonLine, as in a real
// run), the files it dropped, and what a compromised scan sandbox or a damaged run report could print.
// The report must be written (never a throw), parse as JSON with the strict parser, keep the sample's
// name byte for byte (as \xNN), and the HTML view must be rendered.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "analyze/analysis_report.h"
#include "analyze/network_report.h"
#include "core/json_text.h"
#include "fuzz_text.h"
#include "monitor/json_line.h"

namespace {

using nlohmann::json;

// A few monitor events whose strings are the sample's bytes, plus one raw line.
std::string EventText(airlock::fuzz::Reader& r) {
  std::string text, buf;
  for (int i = r.Byte() % 6; i > 0; --i) {
    switch (r.Byte() % 3) {
      case 0:
        airlock::JsonLine(buf).Str("category", "process_creation").Int("ProcessId", r.Byte()).Int("ParentProcessId", 1)
            .Str("Image", r.Str()).Str("CommandLine", r.Str(120)).Finish();
        break;
      case 1:
        airlock::JsonLine(buf).Str("category", "dns_query").Str("QueryName", r.Str(255)).Str("Image", r.Str()).Finish();
        break;
      default:
        airlock::JsonLine(buf).Str("category", "network_connection").Str("DestinationIp", r.Str(16))
            .Int("DestinationPort", r.Byte()).Str("DestinationHostname", r.Str()).Finish();
    }
    text += buf + "\n";
  }
  return text + r.Str(100) + "\n";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  airlock::fuzz::Reader r{data, size};
  const std::string name = r.Str();
  json report = {{"version", "fuzz"}, {"sample", {{"name", name}, {"size", size}}}};
  airlock::analyze::StaticResult s = airlock::analyze::ReadScanReport(airlock::analyze::ParseScanOutput(r.Str(300), 1, r.Str()));
  report["static"] = {{"verdict", s.verdict}, {"score", s.score}, {"findings", s.findings}};
  report["output"] = airlock::analyze::OutputSection(r.Str(200), r.Str(200), r.Byte());
  std::istringstream events_in(EventText(r));
  auto events = airlock::analyze::ReadEventLines(events_in, 1 + r.Byte() % 8);
  json run = json::parse(r.Str(200), nullptr, /*allow_exceptions=*/false);
  if (run.is_discarded() || !run.is_object()) run = json::object();
  report["run"] = run;
  json dropped = json::array();
  for (int i = r.Byte() % 4; i > 0; --i) dropped.push_back({{"path", "/tmp/" + r.Str()}, {"size", r.Byte()}});
  report["dropped"] = dropped;
  report["behavior"] = {{"events", events.events.size()}, {"matches", json::array()}, {"rule_errors", json::array()}};
  try {
    report["network"] = airlock::analyze::BuildNetworkSection(events.events, run);
  } catch (const std::exception&) {
    // analyze guards this phase the same way (a run report of an unexpected shape)
  }
  report["verdict"] = "clean";
  report["score"] = 0.0;
  auto texts = airlock::analyze::RenderReport(report, events.events);
  auto back = json::parse(texts.json, nullptr, /*allow_exceptions=*/false);
  if (back.is_discarded() || texts.html.empty()) __builtin_trap();
  if (!airlock::fuzz::SameBytes(name, back["sample"]["name"].get<std::string>())) __builtin_trap();
  return 0;
}
