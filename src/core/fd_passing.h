// Passing one file descriptor over an AF_UNIX socket (SCM_RIGHTS). Allocation-free and safe to call
// in the sandbox child.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace airlock {

// Sends fd with one byte of payload. Returns 0 or -errno.
inline int SendFd(int sock, int fd) {
  char dummy = 'F';
  struct iovec iov = {&dummy, 1};
  alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return ::sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

// Receives one fd (close-on-exec) sent by SendFd; -1 on EOF, error or a message without exactly one fd.
inline int ReceiveFd(int sock) {
  char dummy;
  struct iovec iov = {&dummy, 1};
  alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = buf;
  msg.msg_controllen = sizeof buf;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return -1;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) {
    return -1;
  }
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

}  // namespace airlock
