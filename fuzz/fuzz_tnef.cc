// Fuzzes the TNEF reader (scan/unpack/tnef.h): every attachment must lie inside the input, names are
// bounded, and the attachment cap holds. Inputs without the signature get it prepended half the time.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "scan/unpack/tnef.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  if (size > 0 && (data[0] & 1) != 0) in = std::string(airlock::scan::kTnefSignature) + "\x01\x00" + in.substr(1);
  const auto c = airlock::scan::ParseTnef(in, 16);
  if (c.attachments.size() > 16) __builtin_trap();
  const char* begin = in.data();
  const char* end = in.data() + in.size();
  for (const auto& a : c.attachments) {
    if (a.data.empty() || a.data.data() < begin || a.data.data() + a.data.size() > end) __builtin_trap();
    if (a.name.size() > 4 * 255) __builtin_trap();
  }
  return 0;
}
