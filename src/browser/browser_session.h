// One `airlock browser` session (docs/BROWSER.md, "Browsing in airlock"): Chromium (or Firefox ESR:
// firefox_session.h, the same contract but its driver), interactive,
// inside `airlock run --profile browser` (disposable: a fresh profile on the sandbox's tmpfs home,
// gone at exit) or `airlock box run NAME` (the profile and cookies kept in the box), driven over its
// DevTools pipe (fds 3 and 4, passed into the sandbox) for the downloads and the checks.
//
// Contract:
//  - The display is chosen once (ChooseDisplay): the Wayland socket when there is one, else the X11
//    socket of $DISPLAY (reported as a weakening: X11 clients can read each other's input), else an
//    error, unless headless. Only that socket (and $XAUTHORITY, read-only) is bound in; nothing else
//    of the user's home is.
//  - Downloads land in a fresh incoming directory bound read-write at /downloads; each one Chromium
//    reports completed (Browser.downloadProgress) is copied into the quarantine (quarantine.h) by its
//    GUID (never by a name from the page), judged on a worker thread (download_judge.h) and, when clean,
//    released to the user's Downloads at once. The incoming directory is removed at exit: a download
//    that never finished is dropped, never released; a file the browser saved there by other means
//    (print to PDF, Save Page As) is admitted and judged first (SessionDriver::AdmitSavedFiles).
//  - A download that grows past max_download_bytes (Browser.downloadProgress) is cancelled, its
//    partial file removed, and said (stderr, the report's `dropped`): the bound keeps a page from
//    filling the disk that holds the incoming directory.
//  - Each verdict is also told as a desktop notification on the user's session bus (download_notice.h).
//  - SIGINT/SIGTERM/SIGHUP (process/interrupt.h, watched by the caller) close the browser, kill the
//    sandbox, interrupt running scans (their downloads stay "unjudged") and still write the report.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "browser/dbus_proxy.h"
#include "core/error.h"

namespace airlock::runapi {
class RunRequest;
}

namespace airlock::browser {

struct DisplayChoice {
  std::string platform;   // wayland | x11 | headless
  std::vector<std::pair<std::string, std::string>> ro_binds;  // host -> inside
  std::vector<std::string> env;                               // KEY=VALUE inside
  std::string weakening;  // "" or one line for stderr and the report
  std::vector<std::pair<std::string, std::string>> dev_binds;  // device nodes, host -> inside (--gpu)
};

// The home of a desktop sandbox (browser or app): a tmpfs, or the box's when boxed.
inline constexpr const char* kInsideHome = "/home/sandbox";
// Its runtime directory ($XDG_RUNTIME_DIR inside): the display's, the sound server's and --keepassxc's sockets.
inline constexpr const char* kInsideRuntime = "/run/user/1000";

// This process's environment as KEY=VALUE strings; KEY's value in such a list ("" when absent);
// whether PATH is a socket.
std::vector<std::string> CurrentEnvironment();
std::string EnvOf(const std::vector<std::string>& environ, const std::string& key);
bool IsSocket(const std::string& path);

// From the environment given (names as in environ). `headless` never fails.
[[nodiscard]] Result<DisplayChoice> ChooseDisplay(const std::vector<std::string>& environ, bool headless);

// `--audio` (browser and app): the sound server's PulseAudio-protocol socket (PulseAudio, or PipeWire's
// pipewire-pulse): $PULSE_SERVER when it is `unix:PATH`, else $XDG_RUNTIME_DIR/pulse/native; bound at
// /run/user/1000/pulse/native with PULSE_SERVER naming it, and the client cookie
// ($HOME/.config/pulse/cookie) read-only when there is one; PipeWire's own socket too when there is
// one (found as ChooseScreenShare finds it). Always a weakening (the program can record as well as
// play, and PulseAudio lets a client load server modules); an error when there is no such socket.
// Uses DisplayChoice's fields.
[[nodiscard]] Result<DisplayChoice> ChooseAudio(const std::vector<std::string>& environ);

// `--gpu` (browser and app): every GPU render node in `dri_dir` (character devices named renderD*,
// sorted), each bound at the same path inside with `--dev-bind`. Render nodes only: the primary nodes
// (card*, modesetting and the display) stay out, and so do sysfs and vendor nodes (/dev/nvidia*).
// Always a weakening (a compromised renderer or program reaches the GPU driver's ioctls, the usual way
// out of browser sandboxes); an error, saying so, when there is no render node.
[[nodiscard]] Result<DisplayChoice> ChooseGpu(const std::string& dri_dir = "/dev/dri");

// `--screen-share` (browser and app): what sharing a screen or a window through the desktop portal
// needs on Wayland, besides the D-Bus proxy (StartOptIns starts it, as for --dbus: the portal is one of
// the two names it lets through): PipeWire's own socket ($PIPEWIRE_REMOTE when it is an absolute path,
// else $XDG_RUNTIME_DIR/pipewire-0) bound at /run/user/1000/pipewire-0, PIPEWIRE_REMOTE naming it. The
// desktop asks the user what to share. Always a weakening (the program reaches your PipeWire server,
// which carries cameras and sound devices as well as screen streams); an error when there is no such
// socket, and as root (root's sandboxes run as nobody outside, who cannot reach a user's PipeWire).
// On X11 nothing is needed: the X server gives every client the screen (the X11 weakening).
[[nodiscard]] Result<DisplayChoice> ChooseScreenShare(const std::vector<std::string>& environ);

struct SessionOptions {
  std::string box;                 // "" = disposable
  std::string url;                 // "" = about:blank
  std::string net;                 // "" = the profile's (user-mode networking); none|user|host|sinkhole
  std::vector<std::string> net_allow;  // with user-mode networking: only these HOST:PORT destinations
  std::string browser = "chromium";  // chromium | firefox (firefox_session.h)
  std::string chromium = "/usr/bin/chromium";
  std::string firefox = "/usr/bin/firefox-esr";
  std::vector<std::string> browser_flags;  // extra browser flags (expert; Chromium's --no-sandbox is reported)
  bool headless = false;
  std::string uploads;             // a folder bound read-only at /home/sandbox/Uploads ("" = none)
  bool audio = false;              // the sound server's socket (ChooseAudio), a weakening
  bool dbus = false;               // the session bus through the filtering proxy (dbus_proxy.h), a weakening
  bool gpu = false;                // the GPU's render nodes (ChooseGpu), a weakening; else Chromium's --disable-gpu
  bool screen_share = false;       // the portal and PipeWire (ChooseScreenShare), a weakening
  bool keepassxc = false;          // KeePassXC's browser socket and native-messaging host (keepassxc.h), a weakening
  bool check = false;              // after the first load: the sandbox facts, then close
  bool until_settled = false;      // close once the page and its downloads have settled
  bool json = false;               // --check: JSON on stdout
  std::string screenshot;          // PNG of the page before closing (with until_settled or check)
  std::string report;              // JSON summary written at the end
  std::string quarantine;          // the store (quarantine.h DefaultQuarantineDir)
  std::string downloads_dir;       // where clean files go (UserDownloadsDir)
  uint64_t max_download_bytes = uint64_t{2} << 30;  // a download growing past this is cancelled, nothing kept
  std::string notify_bus_dir = "/run/user";  // session buses for verdict notifications ("" = off; download_notice.h)
  int settle_ms = 2000;
  int timeout_s = 0;               // 0: none (interactive); until_settled/check default to 90
  int interrupt_fd = -1;
};

// What a desktop sandbox's user asked for beyond the display (browser and app flags).
struct OptInFlags {
  bool audio = false;         // --audio (ChooseAudio)
  bool dbus = false;          // --dbus (a started proxy)
  bool gpu = false;           // --gpu (ChooseGpu)
  bool screen_share = false;  // --screen-share (ChooseScreenShare; starts the D-Bus proxy too)
};

// The opt-ins started: each one's reason appended to `weakenings` ("the browser", "the program":
// `who` reaches ...).
struct DesktopOptIns {
  DisplayChoice audio;              // empty without --audio
  DisplayChoice gpu;                // empty without --gpu
  DisplayChoice screen;             // empty without --screen-share
  std::unique_ptr<DbusProxy> bus;   // null without --dbus and --screen-share
  std::string bus_socket() const { return bus ? bus->socket() : ""; }
  // The binds and variables of --audio, --gpu and --screen-share together (AddDesktopAccess's `asked`),
  // each inside path and variable once (--audio and --screen-share both bind PipeWire's socket).
  DisplayChoice Asked() const;
};
[[nodiscard]] Result<DesktopOptIns> StartOptIns(const std::vector<std::string>& environ, const OptInFlags& flags, const std::string& who,
                                                std::vector<std::string>& weakenings);

// What a desktop sandbox (browser or app) is given of the desktop, added to its `airlock run` request:
// the display's and the opt-ins' (`asked`: sound server, GPU) binds, device binds and variables,
// HOME=/home/sandbox, and D-Bus: the proxy's socket at dbus_proxy.h's kInsideBus when `bus_socket` is
// set, else DBUS_SESSION_BUS_ADDRESS=disabled: (no bus, and no connection attempts).
void AddDesktopAccess(runapi::RunRequest& r, const DisplayChoice& display, const DisplayChoice& asked, const std::string& bus_socket);

// Chromium's command line inside the sandbox for a display `platform` (DisplayChoice's): the DevTools
// pipe, the profile in the sandbox's home, --disable-gpu unless o.gpu, --mute-audio unless o.audio, the
// display's platform, o.browser_flags, about:blank.
std::vector<std::string> ChromiumCommand(const SessionOptions& o, const std::string& platform);

// `--box-per-site`: the box that owns URL's site: "site-" + its host, lower case, without a leading
// "www." (so www.example.org and example.org share one); "" for a URL without a host (file:, data:,
// about:) or with one that is not a plain host name or address.
std::string SiteBoxName(const std::string& url);

// Runs the session to its end. Exit code: 0 ok, 1 --check found the browser's sandbox off, 2 error.
int RunBrowserSession(const SessionOptions& options);

}  // namespace airlock::browser
