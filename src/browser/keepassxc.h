// `airlock browser --keepassxc`: the KeePassXC-Browser extension inside the sandbox reaches the
// user's KeePassXC outside through its native-messaging host (docs/BROWSER.md, "Password manager").
//
// Contract:
//  - KeePassXC (2.7 and later) listens for its browser proxy on a unix socket in a directory of its
//    own, $XDG_RUNTIME_DIR/app/org.keepassxc.KeePassXC/ (Qt's /tmp/runtime-USER when the variable is
//    unset); older ones at $XDG_RUNTIME_DIR/org.keepassxc.KeePassXC.BrowserServer. ChooseKeePassXc
//    binds that directory (or that socket) read-only at the same place below /run/user/1000 and sets
//    XDG_RUNTIME_DIR to it, so Debian's /usr/bin/keepassxc-proxy, started inside by the browser,
//    finds it. Nothing else of KeePassXC (its database, its settings) is bound. /run/user/1000 is then
//    a private tmpfs (BrowserRunRequest: kInsideRuntime), 0700 and the sandbox user's: Qt refuses a
//    runtime directory that is not, as the directory made on the sandbox's read-only root was (0755).
//  - The browser finds the host by a manifest airlock writes to `manifest_path` (0644, replaced) and
//    binds read-only where that browser looks in the sandbox's home (the system directories are on
//    the read-only /etc and /usr): Chromium's profile (~/.config/chromium/NativeMessagingHosts),
//    Firefox's ~/.mozilla/native-messaging-hosts.
//    It names only keepassxc-proxy and only KeePassXC-Browser's published ids (the Chrome Web Store's
//    and Edge's; Firefox's add-on id).
//  - An error says how to fix it: no keepassxc-proxy (install keepassxc), no socket (start KeePassXC
//    and turn on its browser integration), or root (root's sandboxes run as nobody outside, which
//    cannot reach a user's KeePassXC).
//  - Always a weakening: a compromised browser can ask KeePassXC for what it would give the extension.
#pragma once

#include <string>
#include <vector>

#include "browser/browser_session.h"
#include "core/error.h"

namespace airlock::browser {

inline constexpr const char* kKeePassXcHost = "org.keepassxc.keepassxc_browser";
inline constexpr const char* kKeePassXcProxy = "/usr/bin/keepassxc-proxy";

// The manifest's text for the browser (chromium | firefox).
std::string KeePassXcManifest(const std::string& browser);

// Uses DisplayChoice's binds, environment and weakening; `environ` as CurrentEnvironment().
[[nodiscard]] Result<DisplayChoice> ChooseKeePassXc(const std::vector<std::string>& environ, const std::string& browser,
                                                    const std::string& manifest_path);

}  // namespace airlock::browser
