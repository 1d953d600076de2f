// Fuzzes the warm-sandbox request decoder (pool/pool_wire.h), which the sandbox runs on what a client
// sent: no crash, and an accepted request only ever points inside the message, every string
// terminated, the arrays NULL-terminated, the terminal mask naming stdio only.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "pool/pool_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<char> msg(data, data + size);
  std::vector<char*> ptrs(64);
  airlock::pool::DecodedRequest req;
  if (!airlock::pool::DecodeRequestInPlace(msg.data(), msg.size(), ptrs.data(), ptrs.size(), &req)) return 0;
  const char* lo = msg.data();
  const char* hi = msg.data() + msg.size();
  auto inside = [&](const char* p) {
    if (p < lo || p >= hi) __builtin_trap();
    if (std::memchr(p, '\0', static_cast<size_t>(hi - p)) == nullptr) __builtin_trap();
  };
  if (req.argv[0] == nullptr || req.execc == 0 || (req.terminal & ~7u) != 0) __builtin_trap();
  size_t n = 0;
  for (char** a = req.argv; *a != nullptr; ++a, ++n) inside(*a);
  for (char** e = req.envp; *e != nullptr; ++e, ++n) inside(*e);
  for (size_t i = 0; i < req.execc; ++i, ++n) inside(req.exec[i]);
  if (n + 2 > ptrs.size()) __builtin_trap();
  return 0;
}
