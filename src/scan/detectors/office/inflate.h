// Bounded zlib inflation for the few zlib-wrapped Office parts (PowerPoint ExOleObjStg, ActiveMime).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.h"

namespace airlock::scan::office {

// Inflates a zlib stream; stops (successfully) when `max_output` bytes are produced. Fails when the
// stream is corrupt before any output was produced.
Result<std::string> InflateZlib(std::string_view data, size_t max_output);

}  // namespace airlock::scan::office
