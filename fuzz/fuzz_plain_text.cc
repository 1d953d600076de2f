// Fuzzes the typing shortcuts (scan/plain_text.h) for crashes and their invariants: prose is never
// also mail, a mail description always names its text encoding, and both are deterministic.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "scan/plain_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const bool prose = airlock::scan::LooksLikePlainProse(in);
  const auto mail = airlock::scan::PlainMailDescription(in);
  if (prose && mail) __builtin_trap();  // prose never starts with a "Word:" header
  if (mail && mail->find(" text") == std::string::npos) __builtin_trap();
  if (prose != airlock::scan::LooksLikePlainProse(in)) __builtin_trap();
  return 0;
}
