// Kernel ABI wrappers libc 2.36 lacks (openat2, pidfd_*, clone with CLONE_PIDFD, pivot_root).
// The new mount API (open_tree, move_mount, mount_setattr, fsopen...) comes from <sys/mount.h>.
// All are thin, allocation-free, and safe to call in the sandbox child.
#pragma once

#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace airlock::kernel {

inline int Openat2(int dirfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve) {
  struct open_how how {};
  how.flags = flags;
  how.mode = mode;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

inline int PivotRoot(const char* new_root, const char* put_old) {
  return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}

inline int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

inline int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// fork()-like clone with extra namespace flags; returns the child's pid in the parent (and stores a
// pidfd in *pidfd when pidfd != nullptr), 0 in the child, -1 with errno on failure.
// The caller must be single-threaded (no stack is passed: the child runs on a copy of the parent's).
inline pid_t CloneForkLike(unsigned long flags, int* pidfd) {
  if (pidfd != nullptr) flags |= CLONE_PIDFD;
  return static_cast<pid_t>(::syscall(SYS_clone, flags | SIGCHLD, nullptr, pidfd, nullptr, nullptr));
}

}  // namespace airlock::kernel
