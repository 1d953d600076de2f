// The hidden command `airlock-watch notify-send`: one desktop notification on a user's session bus,
// run by the notifier (watch/notifier.h) as a child of the root daemon. Linked into the airlock-watch
// binary only (the one place that uses GIO's GDBus).
//
//   airlock-watch notify-send --uid U --gid G --bus PATH --urgency critical|normal
//                             [--icon NAME] [--category NAME] --summary TEXT --body TEXT
//
// Contract:
//  - The environment is cleared before anything else (nothing of root's, no DBUS_*, reaches GLib).
//  - Privileges are dropped before the bus is touched: as root, setgroups (none), setresgid(G),
//    setresuid(U); then every real, effective and saved id must be U and G. U != 0 with any id still
//    0 (or a drop that failed): refused, exit 3. Not root: only U = the caller's own uid is accepted.
//  - Connects to `unix:path=PATH` (escaped as a D-Bus address) as a message-bus client, authenticated
//    as U, and calls org.freedesktop.Notifications.Notify on /org/freedesktop/Notifications:
//    app_name "airlock", replaces_id 0, the icon, summary and body, no actions, hints {"urgency": byte
//    2 (critical) or 1, "category": string}, expire_timeout -1; the call times out after 3 s.
//  - Exit 0 when the server answered; 1 (one line on stderr) when it did not; 2 for bad arguments
//    (text that is not valid UTF-8 included: the caller makes it valid); 3 for a refused drop.
#pragma once

#include <string>
#include <vector>

namespace airlock::watch {

int NotifySendMain(const std::vector<std::string>& args);

}  // namespace airlock::watch
