// Fuzzes the monitor's event writers: JsonLine (the hot path, src/monitor/json_line.h) with arbitrary
// bytes as values (paths, command lines, DNS names from the sandbox), and a sinkhole-style event built
// as a document and written by DumpJson. Each line must parse (strict parser), stay one line, and keep
// every byte as \xNN.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/json_text.h"
#include "fuzz_text.h"
#include "monitor/json_line.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  airlock::fuzz::Reader r{data, size};
  const std::string image = r.Str(), target = r.Str(200), cmdline = r.Str(200);
  std::string buf;
  airlock::JsonLine(buf).Str("category", "file_event").Int("ProcessId", r.Byte()).Str("Image", image)
      .Str("TargetFilename", target).Str("CommandLine", cmdline).Finish();
  auto line = nlohmann::json::parse(buf, nullptr, /*allow_exceptions=*/false);
  if (line.is_discarded() || buf.find('\n') != std::string::npos) __builtin_trap();
  if (!airlock::fuzz::SameBytes(target, line["TargetFilename"].get<std::string>())) __builtin_trap();
  if (!airlock::fuzz::SameBytes(cmdline, line["CommandLine"].get<std::string>())) __builtin_trap();

  const std::string name = r.Str(255);
  nlohmann::json dns = {{"category", "dns_query"}, {"QueryName", name}, {r.Str(8), r.Str()}};
  const std::string text = airlock::DumpJson(dns);
  auto back = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (back.is_discarded() || text.find('\n') != std::string::npos) __builtin_trap();
  if (!airlock::fuzz::SameBytes(name, back["QueryName"].get<std::string>())) __builtin_trap();
  return 0;
}
