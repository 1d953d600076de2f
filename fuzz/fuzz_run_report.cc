// Fuzzes the run report writer (src/sandbox/outcome.cc through core/json_text.h's DumpJson) with
// arbitrary bytes in every string the sandbox or the command line can reach: the error line, layer
// details, not-enforced lines, syscall and step names, the network section's names. The text must be
// valid JSON (strict parser), read back by runapi::ParseRunReport, and keep every byte as \xNN.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/json_text.h"
#include "fuzz_text.h"
#include "runapi/run_report.h"
#include "sandbox/outcome.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  airlock::fuzz::Reader r{data, size};
  airlock::RunOutcome o;
  o.reason = static_cast<airlock::OutcomeReason>(r.Byte() % 5);
  o.exit_code = r.Byte();
  o.error = r.Str(200);
  o.interrupt_signal = r.Byte() % 3 == 0 ? 2 : 0;
  for (int i = r.Byte() % 4; i > 0; --i) o.layers.push_back({r.Str(), (r.Byte() & 1) != 0, r.Str()});
  for (int i = r.Byte() % 3; i > 0; --i) o.not_enforced.push_back(r.Str());
  for (int i = r.Byte() % 3; i > 0; --i) o.denied_syscalls[r.Str(16)] = r.Byte();
  for (int i = r.Byte() % 3; i > 0; --i) o.setup_ms[r.Str(16)] = r.Byte() / 3.0;
  if (r.Byte() & 1) {
    nlohmann::json names = nlohmann::json::array();
    for (int i = r.Byte() % 4; i > 0; --i) names.push_back(r.Str());
    o.network = {{"mode", "sinkhole"}, {"names", names}, {"queries", {{r.Str(), r.Byte()}}}};
  }
  const std::string text = airlock::DumpJson(airlock::OutcomeToJson(o), 2);
  auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) __builtin_trap();
  auto report = airlock::runapi::ParseRunReport(std::string_view(text));
  if (!report) __builtin_trap();
  if (!o.error.empty() && !airlock::fuzz::SameBytes(o.error, report->error)) __builtin_trap();
  if (report->interrupted != (o.interrupt_signal != 0)) __builtin_trap();
  return 0;
}
