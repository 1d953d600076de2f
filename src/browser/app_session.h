// `airlock app` and `airlock open` of a document (docs/BROWSER.md, "Desktop programs in boxes"): any
// desktop program gets the browser's display treatment inside an airlock sandbox, for risky programs
// (a PDF reader, an office suite opening an attachment: M1048's "Protected View").
//
// Contract:
//  - The program runs with `airlock run --profile gui` (disposable: a fresh tmpfs home, gone at exit)
//    or `airlock box run NAME` (its home kept in the box NAME, created on first use over an empty
//    directory of its own under `homes`, never over the user's home). HOME is /home/sandbox.
//  - Display: ChooseDisplay (browser_session.h): the Wayland socket, else the X11 socket of $DISPLAY
//    (a weakening, said on stderr as `WEAKENED: ...`), else an error; `headless` binds none. No audio,
//    GPU or D-Bus socket is bound in unless asked (below; without a bus: DBUS_SESSION_BUS_ADDRESS=disabled:).
//  - Network: none unless asked (`net`: none|user|sinkhole|host; host is a weakening, said).
//  - `audio`: the sound server's socket (browser_session.h ChooseAudio), said as a weakening.
//  - `gpu`: the GPU's render nodes (browser_session.h ChooseGpu), said as a weakening.
//  - `screen_share`: the D-Bus proxy and PipeWire's socket (browser_session.h ChooseScreenShare), said
//    as weakenings.
//  - `dbus`: the session bus through the filtering proxy of dbus_proxy.h (notifications and the
//    desktop portal only), said as a weakening; otherwise no bus at all.
//  - `file`: bound read-only at /opened/<its name made safe>; each `%f` word of the command is that path.
//  - RunApp runs the sandbox as its child and waits: the exit code is `airlock run`'s (the program's
//    own, or 121-127 for airlock's failures); SIGINT, SIGTERM and SIGHUP are passed on to it (airlock
//    run then kills the sandbox); the D-Bus proxy, if any, stops after it.
//  - OpenDocument: the user's usual application for the file's type, as the desktop chooses it (GIO:
//    mimeapps.list of the user, then the system; airlock's own "Open in airlock" entry is skipped, so
//    it never calls itself), started for that file with RunApp: disposable, no network.
#pragma once

#include <string>
#include <vector>

#include "browser/browser_session.h"
#include "core/error.h"

namespace airlock::browser {

struct AppOptions {
  std::string box;                   // "" = disposable
  std::string net = "none";          // none|user|sinkhole|host
  bool headless = false;             // no display (scripts, tests)
  bool dbus = false;                 // the session bus through the filtering proxy
  bool audio = false;                // the sound server's socket (ChooseAudio), a weakening
  bool gpu = false;                  // the GPU's render nodes (ChooseGpu), a weakening
  bool screen_share = false;         // the portal and PipeWire (ChooseScreenShare), a weakening
  std::string file;                  // host path bound read-only at /opened/NAME ("" = none)
  std::vector<std::string> command;  // the program and its arguments (inside the sandbox)
  std::string homes;                 // boxes' homes ($XDG_DATA_HOME/airlock/app-homes)
};

// Where `file` is seen inside ("" when there is none).
std::string OpenedPath(const std::string& file);

// The `airlock run` (or `airlock box run NAME`) argv for the program.
// `bus_socket`: the D-Bus proxy's socket ("" = no bus); `asked`: the opt-ins' binds (DesktopOptIns::Asked).
[[nodiscard]] Result<std::vector<std::string>> AppArgv(const AppOptions& o, const DisplayChoice& display,
                                                       const std::string& bus_socket = "", const DisplayChoice& asked = {});

// Runs the program (see the contract); returns the exit code to use.
int RunApp(const AppOptions& o);

// A desktop entry's Exec value with its field codes expanded for one file at `inside_path`:
// %f %F %u %U -> the path (appended when the line has none), %c -> `name`, %% -> %, %i %k and the
// deprecated codes dropped. Quoting as the Desktop Entry Specification (and GLib's shell parser).
[[nodiscard]] Result<std::vector<std::string>> ExpandExec(const std::string& exec, const std::string& inside_path,
                                                          const std::string& name);

// `airlock open DOC`: the usual application's command for DOC, to be run as above.
[[nodiscard]] Result<std::vector<std::string>> UsualApplication(const std::string& doc, std::string* app_id);

}  // namespace airlock::browser
