// Passing file descriptors over AF_UNIX sockets (SCM_RIGHTS). Allocation-free and safe to call in the
// sandbox child.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace airlock {

inline constexpr size_t kMaxPassedFds = 8;

// Sends len bytes with nfds (<= kMaxPassedFds) descriptors in one message. Returns the bytes sent
// or -errno.
inline ssize_t SendWithFds(int sock, const void* data, size_t len, const int* fds, size_t nfds) {
  struct iovec iov = {const_cast<void*>(data), len};
  alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    if (nfds > kMaxPassedFds) return -EINVAL;
    msg.msg_control = buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  return n < 0 ? -errno : n;
}

// Receives one message into buf and up to max_fds descriptors (close-on-exec) into fds; *nfds says how
// many arrived (extra ones are closed). Returns the bytes received, 0 at EOF, or -errno; *truncated
// is set when the message or its descriptors did not fit. `flags` go to recvmsg (MSG_DONTWAIT).
inline ssize_t ReceiveWithFds(int sock, void* buf, size_t len, int* fds, size_t max_fds, size_t* nfds, bool* truncated,
                              int flags = 0) {
  struct iovec iov = {buf, len};
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * kMaxPassedFds)] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
  } while (n < 0 && errno == EINTR);
  *nfds = 0;
  *truncated = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
  if (n < 0) return -errno;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (*nfds < max_fds) {
        fds[(*nfds)++] = fd;
      } else {
        ::close(fd);
        *truncated = true;
      }
    }
  }
  return n;
}

// One descriptor with one byte of payload. Returns 0 or -errno.
inline int SendFd(int sock, int fd) {
  char dummy = 'F';
  ssize_t n = SendWithFds(sock, &dummy, 1, &fd, 1);
  return n == 1 ? 0 : (n < 0 ? static_cast<int>(n) : -EIO);
}

// Receives one fd sent by SendFd; -1 on EOF, error or a message without exactly one fd.
inline int ReceiveFd(int sock) {
  char dummy;
  int fds[2];
  size_t n = 0;
  bool truncated = false;
  ssize_t r = ReceiveWithFds(sock, &dummy, 1, fds, 2, &n, &truncated);
  if (r <= 0 || n != 1) {
    for (size_t i = 0; i < n; ++i) ::close(fds[i]);
    return -1;
  }
  return fds[0];
}

}  // namespace airlock
