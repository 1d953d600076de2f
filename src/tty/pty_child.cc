// The child side of the private terminal (pty_relay.h): allocation-free, syscalls only.
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "tty/pty_relay.h"

namespace airlock {

unsigned StdioTerminalMask(const StdioTerminal& t) {
  unsigned mask = 0;
  for (unsigned i = 0; i < 3; ++i) {
    if (t.slave >= 0 && t.replace[i]) mask |= 1u << i;
  }
  return mask;
}

int AttachTerminalInChild(const StdioTerminal& t, bool controlling) {
  if (t.slave < 0) return 0;
  for (int i = 0; i < 3; ++i) {
    if (t.replace[i] && ::dup2(t.slave, i) != i) return -errno;
  }
  return controlling ? TakeControllingTerminalInChild(StdioTerminalMask(t)) : 0;
}

int TakeControllingTerminalInChild(unsigned mask) {
  for (int i = 0; i < 3; ++i) {
    if ((mask & (1u << i)) == 0) continue;
    return ::ioctl(i, TIOCSCTTY, 0) == 0 ? 0 : -errno;
  }
  return 0;
}

}  // namespace airlock
