// Whether a file's first bytes say it runs by itself: an ELF binary, or a script with "#!". One rule for
// the endpoint's judge (detonate on top of static triage), the browser's download judge (the same),
// and `airlock open` (a program runs in the analysis sandbox, anything else opens as a document).
#pragma once

#include <string_view>

namespace airlock {

inline bool LooksRunnable(std::string_view head) { return head.starts_with("\x7f" "ELF") || head.starts_with("#!"); }

}  // namespace airlock
