#include "monitor/json_line.h"

#include <fmt/format.h>

namespace airlock {

JsonLine& JsonLine::Int(std::string_view key, int64_t value) {
  Key(key);
  fmt::format_to(std::back_inserter(out_), "{}", value);
  return *this;
}

}  // namespace airlock
