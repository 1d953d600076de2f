// `--dbus` for `airlock browser` and `airlock app` (docs/BROWSER.md): the sandbox reaches the user's
// session bus only through a filtering proxy, Debian's xdg-dbus-proxy (as Flatpak does), which lets
// it talk to desktop notifications and the desktop portal (the file chooser where a portal runs) and
// to nothing else: no other name is visible, callable or ownable, no monitoring.
//
// Contract:
//  - The bus: $DBUS_SESSION_BUS_ADDRESS when it is a `unix:` address, else $XDG_RUNTIME_DIR/bus when
//    that is a socket; otherwise an error that says so. The proxy runs as the caller, outside the
//    sandbox, its socket in a fresh private directory (0700) under $XDG_RUNTIME_DIR (or /tmp when
//    there is none, or the socket's path would not fit a unix socket address); the
//    socket itself is mode 0666, as the sandbox's user may differ from the caller's (as root).
//  - Start returns once the proxy says it is ready (its --fd pipe), or fails within 5 s with the
//    proxy's own words. The proxy stops when the pipe's read end, held by the DbusProxy, closes: when
//    the proxy object is destroyed or the process that holds it dies. The destructor also reaps it and
//    removes the directory.
//  - Inside, the socket is at kInsideBus and DBUS_SESSION_BUS_ADDRESS names it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::browser {

inline constexpr const char* kInsideBus = "/run/user/1000/bus";

class DbusProxy {
 public:
  static Result<std::unique_ptr<DbusProxy>> Start(const std::vector<std::string>& environ);
  ~DbusProxy();
  const std::string& socket() const { return socket_; }
  // The filter's rules, as passed to xdg-dbus-proxy (exposed for the report and tests).
  static std::vector<std::string> FilterArgs();

 private:
  DbusProxy() = default;
  pid_t pid_ = -1;
  std::string dir_, socket_;
  UniqueFd alive_;
};

}  // namespace airlock::browser
