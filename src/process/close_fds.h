// Closing every inherited descriptor of a sandbox process but a few. Allocation-free, for the child
// side of clone().
#pragma once

#include <linux/close_range.h>
#include <unistd.h>

#include <cstddef>
#include <utility>

namespace airlock {

// Closes every descriptor above 2 except those in keep[0, n) (sorted here, in place; entries below 3
// are ignored).
inline void CloseFdsExcept(int* keep, size_t n) {
  for (size_t i = 1; i < n; ++i)
    for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; --j) std::swap(keep[j - 1], keep[j]);
  unsigned lo = 3;
  for (size_t i = 0; i < n; ++i) {
    if (keep[i] < 3) continue;
    if (static_cast<unsigned>(keep[i]) > lo) ::close_range(lo, static_cast<unsigned>(keep[i]) - 1, 0);
    lo = static_cast<unsigned>(keep[i]) + 1;
  }
  ::close_range(lo, ~0U, 0);
}

}  // namespace airlock
