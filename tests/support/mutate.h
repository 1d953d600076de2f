// Deterministic random mutations of a byte string, for tests that feed hostile input to a parser
// (the sinkhole's DNS and TLS parsers, ...): the same seed gives the same inputs on every run, so a
// failing round number reproduces. Header-only (tests/support, no link dependency).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace airlock::test {

// Calls fn(round, mutated) for rounds 0..n-1. Each mutation starts from `bytes` (non-empty),
// overwrites 1 to 4 random bytes with random values, then truncates at a random length (0 up to the
// whole). The generator is a linear congruential one seeded by `seed`. Stops early after a fatal
// gtest failure (an ASSERT_* in fn), as a plain loop would.
template <class Fn>
void ForEachMutation(uint32_t seed, const std::string& bytes, int n, Fn fn) {
  auto next = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
  };
  for (int round = 0; round < n; ++round) {
    std::string p = bytes;
    int flips = 1 + static_cast<int>(next() % 4);
    for (int i = 0; i < flips; ++i) p[next() % p.size()] = static_cast<char>(next() & 0xff);
    p.resize(next() % (p.size() + 1));
    fn(round, p);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace airlock::test
