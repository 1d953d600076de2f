// A named box whose home starts empty, for `airlock browser --box NAME` and `airlock app --box NAME`
// (docs/BROWSER.md): what a program writes to its home (a browser's profile and cookies, an app's
// settings) is kept in the box; nothing of the user's own home is ever shown to it.
//
// Contract:
//  - EnsureHomeBox does nothing when `airlock box list` already has NAME. Otherwise it makes
//    HOMES/NAME (private, owned by the caller) and runs `airlock box create NAME --profile PROFILE
//    --over HOMES/NAME:INSIDE_HOME`, saying so on stderr; a failure says why (the box command's own
//    first lines).
//  - WithBox turns an `airlock run` argv into `airlock box run NAME` with the same options.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"

namespace airlock::browser {

[[nodiscard]] Status EnsureHomeBox(const std::string& box, const std::string& profile, const std::string& homes,
                                   const std::string& inside_home, const std::string& what);
std::vector<std::string> WithBox(std::vector<std::string> run_argv, const std::string& box);

}  // namespace airlock::browser
