#include "process/interrupt.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace airlock::process {

InterruptWatch::InterruptWatch() {
  sigset_t set;
  sigemptyset(&set);
  for (int signo : {SIGHUP, SIGINT, SIGTERM}) sigaddset(&set, signo);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd_) ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

bool InterruptWatch::Pending() const {
  if (signo_ != 0) return true;
  if (!fd_) return false;
  pollfd p{fd_.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN) != 0;
}

int InterruptWatch::Signal() {
  if (signo_ != 0 || !fd_) return signo_;
  signalfd_siginfo si{};
  if (::read(fd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) signo_ = static_cast<int>(si.ssi_signo);
  return signo_;
}

}  // namespace airlock::process
