// Fuzzes the built-in typing (scan/magic_numbers.h) for crashes and its invariants: an answer always
// has a MIME type and a description, and the same bytes always get the same answer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scan/magic_numbers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto t = airlock::scan::TypeByMagicNumbers(in);
  if (t && (t->mime.empty() || t->description.empty())) __builtin_trap();
  const auto again = airlock::scan::TypeByMagicNumbers(in);
  if (t.has_value() != again.has_value() || (t && (t->mime != again->mime || t->description != again->description)))
    __builtin_trap();
  return 0;
}
