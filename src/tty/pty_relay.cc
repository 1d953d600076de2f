#include "tty/pty_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "core/log.h"

namespace airlock {
namespace {

// What Finish relays at most after the sandbox ended: everything a dead sandbox can have left in the
// pty is far less (the kernel buffers ~64 KiB); the bound only stops a writer that outlived it (no pid
// namespace) from holding us here.
constexpr size_t kDrainLimit = 4 << 20;

// The slave of a fresh pseudo-terminal: TIOCGPTPEER (Linux 4.13) opens it from the master without a
// path lookup; older kernels take the path /dev/pts/N.
Result<UniqueFd> OpenSlave(int master, int pts) {
  int fd = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0 && (errno == EINVAL || errno == ENOTTY)) {
    std::string path = fmt::format("/dev/pts/{}", pts);
    fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) return ErrnoError("open the pseudo-terminal's slave");
  return UniqueFd(fd);
}

}  // namespace

Result<std::unique_ptr<PtyRelay>> PtyRelay::OpenFromParent() {
  std::unique_ptr<PtyRelay> r(new PtyRelay());
  for (int fd = 0; fd < 3; ++fd) {
    if (auto s = HostTerminalState::Save(fd)) {
      r->replace_[fd] = true;
      r->saved_.push_back(*s);
    }
  }
  if (r->saved_.empty()) return std::unique_ptr<PtyRelay>();
  const char* hint = " (airlock gives the sandbox a pseudo-terminal of its own when stdio is a terminal: "
                     "mount devpts at /dev/pts, redirect stdio, or hand over yours with --host-terminal)";
  r->master_.reset(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
  if (!r->master_) return std::unexpected(Error(std::string("open /dev/ptmx") + hint, errno));
  int unlock = 0;
  if (::ioctl(r->master_.get(), TIOCSPTLCK, &unlock) != 0 || ::ioctl(r->master_.get(), TIOCGPTN, &r->pts_) != 0) {
    return std::unexpected(Error(std::string("unlock the pseudo-terminal") + hint, errno));
  }
  auto slave = OpenSlave(r->master_.get(), r->pts_);
  if (!slave) return std::unexpected(std::move(slave.error()));
  r->slave_ = std::move(*slave);

  // Input from stdin when it is a terminal we may read; output to stdout, else stderr, else stdin.
  if (r->replace_[0] && !InBackgroundOf(0)) r->in_fd_ = 0;
  if (r->replace_[1]) r->out_fd_ = 1;
  else if (r->replace_[2]) r->out_fd_ = 2;
  else if ((::fcntl(0, F_GETFL) & O_ACCMODE) != O_RDONLY) r->out_fd_ = 0;

  struct termios modes = r->saved_.front().modes();
  if (r->in_fd_ < 0) modes.c_oflag &= ~static_cast<tcflag_t>(OPOST);
  if (::tcsetattr(r->slave_.get(), TCSANOW, &modes) != 0) return ErrnoError("set the pseudo-terminal's modes");
  struct winsize ws {};
  if (::ioctl(r->saved_.front().fd(), TIOCGWINSZ, &ws) == 0) (void)::ioctl(r->master_.get(), TIOCSWINSZ, &ws);
  return r;
}

PtyRelay::~PtyRelay() { Finish(); }

StdioTerminal PtyRelay::stdio() const {
  StdioTerminal t;
  t.slave = slave_ ? slave_.get() : -1;
  for (int i = 0; i < 3; ++i) t.replace[i] = replace_[i];
  return t;
}

std::string PtyRelay::Describe() const {
  static const char* const kNames[] = {"stdin", "stdout", "stderr"};
  std::string which;
  for (int i = 0; i < 3; ++i) {
    if (replace_[i]) which += (which.empty() ? "" : ", ") + std::string(kNames[i]);
  }
  return fmt::format("{} on a pseudo-terminal of its own (pts {}), relayed by airlock; input {}", which, pts_,
                     in_fd_ >= 0 ? "relayed" : "not relayed (stdin is no terminal, or airlock runs in the background)");
}

Status PtyRelay::Start() {
  if (started_ || finished_) return Ok();
  stop_.reset(::eventfd(0, EFD_CLOEXEC));
  if (!stop_) return ErrnoError("terminal relay: eventfd");
  if (in_fd_ >= 0) {
    // Raw mode: every byte (Ctrl-C, Ctrl-D, Ctrl-Z included) goes to the sandbox's line discipline.
    struct termios raw = saved_.front().modes();
    ::cfmakeraw(&raw);
    if (::tcsetattr(in_fd_, TCSANOW, &raw) != 0) {
      LogWarning("terminal: cannot put your terminal in raw mode ({}); input is not relayed", std::strerror(errno));
      in_fd_ = -1;
    }
  }
  try {
    thread_ = std::thread([this]() { Relay(); });
  } catch (const std::system_error& e) {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) it->Restore();
    return MakeError(std::string("terminal relay: cannot start its thread: ") + e.what());
  }
  started_ = true;
  return Ok();
}

void PtyRelay::OnWindowChange() {
  if (finished_ || !master_) return;
  struct winsize ws {};
  for (const auto& s : saved_) {
    if (::ioctl(s.fd(), TIOCGWINSZ, &ws) == 0) {
      (void)::ioctl(master_.get(), TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH to the payload's foreground
      return;
    }
  }
}

void PtyRelay::Finish() {
  if (finished_) return;
  finished_ = true;
  if (thread_.joinable()) {
    uint64_t one = 1;
    ssize_t w = ::write(stop_.get(), &one, sizeof one);  // a fresh eventfd cannot overflow
    (void)w;
    thread_.join();
  }
  master_.reset();  // a process still holding the slave is hung up
  slave_.reset();
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) it->Restore();
}

// The relay thread: caller's terminal -> master (bounded: one buffer, no reading while it is full),
// master -> caller's terminal, until Finish asks it to drain and end.
void PtyRelay::Relay() {
  char in[4096];
  size_t in_len = 0, in_off = 0;
  bool in_open = in_fd_ >= 0, master_open = true;
  for (;;) {
    const bool pending = in_off < in_len;
    struct pollfd fds[3] = {{stop_.get(), POLLIN, 0},
                            {master_open ? master_.get() : -1, static_cast<short>(POLLIN | (pending ? POLLOUT : 0)), 0},
                            {in_open && !pending ? in_fd_ : -1, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) break;
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) master_open = CopyOut();
    if (master_open && pending && (fds[1].revents & POLLOUT)) {
      ssize_t n = ::write(master_.get(), in + in_off, in_len - in_off);
      if (n > 0) in_off += static_cast<size_t>(n);
      else if (n < 0 && errno != EAGAIN && errno != EINTR) in_off = in_len;
    }
    if (fds[2].revents) {
      ssize_t n = ::read(in_fd_, in, sizeof in);
      if (n > 0) {
        in_len = static_cast<size_t>(n);
        in_off = 0;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        in_open = false;  // the caller's terminal hung up
      }
    }
    if (!master_open) in_open = false;  // nobody left to read it
  }
  Drain();
}

// One read from the master to the caller's terminal; false when every slave descriptor is closed.
bool PtyRelay::CopyOut() {
  char buf[16384];
  ssize_t n = ::read(master_.get(), buf, sizeof buf);
  if (n > 0) {
    WriteOut(buf, static_cast<size_t>(n));
    return true;
  }
  return n < 0 && (errno == EAGAIN || errno == EINTR);
}

// After the sandbox ended: what is still in the pty (the kernel flushes its buffer before a
// non-blocking read answers EAGAIN or EIO), bounded by kDrainLimit.
void PtyRelay::Drain() {
  char buf[16384];
  size_t left = kDrainLimit;
  while (left > 0) {
    ssize_t n = ::read(master_.get(), buf, std::min(sizeof buf, left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    WriteOut(buf, static_cast<size_t>(n));
    left -= static_cast<size_t>(n);
  }
}

// Writes all of it to the caller's terminal, waiting when its descriptor is non-blocking; on an error
// (hung up) output is dropped from then on, while the pty is still read so the sandbox never blocks.
void PtyRelay::WriteOut(const char* data, size_t len) {
  while (len > 0 && out_fd_ >= 0) {
    ssize_t n = ::write(out_fd_, data, len);
    if (n > 0) {
      data += n;
      len -= static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      struct pollfd w = {out_fd_, POLLOUT, 0};
      (void)::poll(&w, 1, -1);
    } else if (!(n < 0 && errno == EINTR)) {
      out_fd_ = -1;
    }
  }
}

}  // namespace airlock
