// The built-in profiles' TOML texts, compiled in: defined in the builtin_profiles.cc that
// src/policy/CMakeLists.txt generates from profiles/<name>.toml, read by profile_loader.cc.
#pragma once

#include <cstddef>

namespace airlock::builtin_profiles {

struct Source {
  const char* name;
  const char* toml;
};
extern const Source kSources[];
extern const size_t kCount;

}  // namespace airlock::builtin_profiles
