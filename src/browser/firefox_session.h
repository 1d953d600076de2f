// `airlock browser --browser firefox`: Debian's Firefox ESR in the same session as Chromium's
// (browser_session.h: display, opt-ins, quarantine, judge, report), driven over Marionette
// (marionette.h) instead of a DevTools pipe.
//
// Contract:
//  - The sandbox is `airlock run --profile browser --listen 2828` (or `airlock box run NAME` with the
//    same options): Firefox's content processes keep their own sandbox (own user and network
//    namespaces, a seccomp filter of their own), and Landlock lets the browser bind the Marionette
//    port in its own network namespace and no other. `--net host` is refused: Marionette would listen
//    on the host's loopback, where any local user could drive the browser.
//  - The profile is /home/sandbox/.mozilla/airlock (kept with `--box`); its user.js is written at every
//    start by a shell inside the sandbox (FirefoxPrefs): downloads go to /downloads without asking,
//    Marionette on 2828, no first-run pages, default-browser check, telemetry or updates.
//  - A finished download (Downloads.sys.mjs in the browser's chrome context, polled) is taken by the
//    file name Firefox gave it in /downloads, one path component (session_driver.h AdmitFinished);
//    its URL and referrer come from Firefox; a blob: or data: URL marks it as built by a script. A
//    download that grows past max_download_bytes is cancelled in Firefox with its partial data removed
//    and said, as with Chromium.
//  - The page counts as loaded when its document's readyState is "complete"; --until-settled,
//    --check, --screenshot, --report and --timeout behave as with Chromium; the interrupt closes the
//    browser and kills the sandbox.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "browser/browser_session.h"
#include "browser/session_driver.h"

namespace airlock::browser {

inline constexpr int kMarionettePort = 2828;
inline constexpr const char* kFirefoxProfile = "/home/sandbox/.mozilla/airlock";

// The user.js written into the profile at each start.
std::string FirefoxPrefs();

// The `airlock run` (or `airlock box run NAME`) invocation of Firefox.
[[nodiscard]] Result<std::vector<std::string>> FirefoxArgv(const SessionOptions& o, const DisplayChoice& display, const DisplayChoice& asked,
                                                           const std::string& incoming, const std::string& bus_socket);

std::unique_ptr<SessionDriver> MakeFirefoxDriver(const SessionOptions& o, Launched l, Quarantine& q, UniqueFd incoming);

}  // namespace airlock::browser
