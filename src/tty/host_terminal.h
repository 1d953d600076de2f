// The caller's terminal as airlock found it. Three things of it can outlive a run and break the
// caller's shell: its modes (termios: echo, canonical input, ...), the file status flags of the open
// file description the caller's shell shares with us (O_NONBLOCK) and its exclusive mode (TIOCEXCL:
// nobody else may open it). HostTerminalState saves all three once and puts back what changed.
// Used by the pty relay (pty_relay.h), which puts the terminal in raw mode while it relays.
// Parent side only.
#pragma once

#include <termios.h>

#include <optional>

namespace airlock {

class HostTerminalState {
 public:
  // The state of `fd` when it is a terminal; nullopt otherwise (and for a terminal whose modes
  // cannot be read).
  static std::optional<HostTerminalState> Save(int fd);

  // Puts back what differs from the saved state: termios, then the file status flags, then the
  // exclusive mode. SIGTTOU is blocked meanwhile, so an airlock moved to the background is not
  // stopped by it. Best effort (a terminal that hung up is left as it is); callable any number of times.
  void Restore() const;

  int fd() const { return fd_; }
  const struct termios& modes() const { return modes_; }

 private:
  int fd_ = -1;
  struct termios modes_ {};
  int flags_ = 0;
  std::optional<bool> exclusive_;  // TIOCGEXCL (Linux 3.8); unknown: not restored
};

// True when `fd` is our controlling terminal and our process group is not its foreground group: reading
// it would stop us with SIGTTIN, changing its modes with SIGTTOU. False for any other terminal (one
// that is not our controlling terminal has no foreground for us to be out of).
bool InBackgroundOf(int fd);

// True when two termios hold the same modes (flags and control characters; speeds ignored).
bool SameModes(const struct termios& a, const struct termios& b);

}  // namespace airlock
