// Fuzzes the report writers: builds a report tree whose names, evidence and ids are arbitrary bytes,
// renders JSON and text, and checks the JSON parses back with the same shape.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_text.h"
#include "scan/report_json.h"
#include "scan/report_text.h"

namespace {

using airlock::fuzz::Reader;
constexpr size_t kMaxStr = 39;  // strings of 0..39 bytes, as the seeds were written for

void Fill(Reader& r, airlock::scan::ObjectReport& o, int depth, size_t& count) {
  o.name = r.Str(kMaxStr);
  o.path = r.Str(kMaxStr);
  o.mime = r.Str(kMaxStr);
  o.size = r.Byte();
  int findings = r.Byte() % 4;
  for (int i = 0; i < findings; ++i) {
    airlock::scan::Finding f;
    f.id = r.Str(kMaxStr);
    f.severity = static_cast<int>(r.Byte()) - 100;  // out of range on purpose
    f.evidence = r.Str(kMaxStr);
    f.techniques = {r.Str(kMaxStr)};
    o.findings.push_back(std::move(f));
  }
  int children = depth < 6 ? r.Byte() % 4 : 0;
  for (int i = 0; i < children && count < 200; ++i) {
    ++count;
    o.children.emplace_back();
    Fill(r, o.children.back(), depth + 1, count);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader r{data, size};
  airlock::scan::ScanReport report;
  int inputs = 1 + r.Byte() % 3;
  for (int i = 0; i < inputs; ++i) {
    airlock::scan::InputReport in;
    in.input = r.Str(kMaxStr);
    in.ok = (r.Byte() & 1) != 0;
    in.error = r.Str(kMaxStr);
    size_t count = 0;
    Fill(r, in.root, 0, count);
    in.limits_hit.push_back({r.Str(kMaxStr), r.Str(kMaxStr), r.Str(kMaxStr)});
    report.inputs.push_back(std::move(in));
  }
  std::string json = airlock::scan::ReportToJsonText(report);
  auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.contains("objects") || !parsed.contains("verdict")) __builtin_trap();
  // Names are bytes from the scanned files: kept byte for byte, as \xNN where they are not UTF-8.
  size_t at = 0;
  for (const auto& in : report.inputs) {
    if (!in.ok) continue;
    if (!airlock::fuzz::SameBytes(in.root.name, parsed["objects"][at++]["name"].get<std::string>())) __builtin_trap();
  }
  std::string text = airlock::scan::ReportToText(report, (size & 1) != 0);
  for (char c : text) {
    if (c == '\x1b' && (size & 1) == 0) __builtin_trap();  // no escape sequences without colour
  }
  return 0;
}
