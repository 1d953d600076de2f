#include "tty/host_terminal.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace airlock {

std::optional<HostTerminalState> HostTerminalState::Save(int fd) {
  HostTerminalState s;
  if (::tcgetattr(fd, &s.modes_) != 0) return std::nullopt;  // ENOTTY: not a terminal
  s.fd_ = fd;
  s.flags_ = ::fcntl(fd, F_GETFL);
  int excl = 0;
  if (::ioctl(fd, TIOCGEXCL, &excl) == 0) s.exclusive_ = excl != 0;
  return s;
}

bool SameModes(const struct termios& a, const struct termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag && a.c_lflag == b.c_lflag &&
         std::memcmp(a.c_cc, b.c_cc, sizeof a.c_cc) == 0;
}

void HostTerminalState::Restore() const {
  if (fd_ < 0) return;
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  ::pthread_sigmask(SIG_BLOCK, &ttou, &old);
  struct termios now {};
  if (::tcgetattr(fd_, &now) == 0 && !SameModes(now, modes_)) {
    while (::tcsetattr(fd_, TCSANOW, &modes_) != 0 && errno == EINTR) {
    }
  }
  int flags = ::fcntl(fd_, F_GETFL);
  if (flags_ >= 0 && flags >= 0 && flags != flags_) (void)::fcntl(fd_, F_SETFL, flags_);
  int excl = 0;
  if (exclusive_ && ::ioctl(fd_, TIOCGEXCL, &excl) == 0 && (excl != 0) != *exclusive_) {
    (void)::ioctl(fd_, *exclusive_ ? TIOCEXCL : TIOCNXCL);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

bool InBackgroundOf(int fd) {
  pid_t fg = ::tcgetpgrp(fd);  // fails (ENOTTY) unless fd is our controlling terminal
  return fg >= 0 && fg != ::getpgrp();
}

}  // namespace airlock
