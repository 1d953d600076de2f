// Starting headless Chromium with its DevTools pipe (fd 3: commands in, fd 4: replies and events out).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::analyze {

struct ChromiumOptions {
  std::string binary = "/usr/bin/chromium";
  std::string profile_dir = "/tmp/chromium";  // fresh: user data, HOME, XDG dirs, crash dumps all go here
  bool own_sandbox = false;                   // Chromium's sandbox (needs user namespaces: see docs/BROWSER.md)
};

// The argv (without a URL: the driver creates its page over CDP).
std::vector<std::string> ChromiumArgv(const ChromiumOptions& opt);

struct Chromium {
  pid_t pid = -1;
  UniqueFd to_browser;    // we write commands here (Chromium's fd 3)
  UniqueFd from_browser;  // we read replies and events here (Chromium's fd 4)
};

// Forks and execs Chromium with stdout and stderr on our stderr, stdin on /dev/null, and HOME and
// the XDG directories inside the profile, so the browser writes nothing outside it.
[[nodiscard]] Result<Chromium> LaunchChromium(const ChromiumOptions& opt);

}  // namespace airlock::analyze
