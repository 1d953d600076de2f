// Kernel ABI wrappers libc 2.36 lacks (openat2, pidfd_*, clone with CLONE_PIDFD, clone3 into a cgroup,
// pivot_root).
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

// clone3's argument block (the kernel's struct clone_args up to `cgroup`, CLONE_ARGS_SIZE_VER2);
// defined here because <linux/sched.h> and glibc's <sched.h> clash.
struct CloneArgs {
  uint64_t flags = 0;
  uint64_t pidfd = 0;
  uint64_t child_tid = 0;
  uint64_t parent_tid = 0;
  uint64_t exit_signal = 0;
  uint64_t stack = 0;
  uint64_t stack_size = 0;
  uint64_t tls = 0;
  uint64_t set_tid = 0;
  uint64_t set_tid_size = 0;
  uint64_t cgroup = 0;
};
inline constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;  // CLONE_INTO_CGROUP (Linux 5.7)

// CloneForkLike through clone3, born in the cgroup v2 directory `cgroup_dir_fd` (CLONE_INTO_CGROUP:
// no migration, so no global cgroup lock). Returns like CloneForkLike; ENOSYS/E2BIG/EINVAL when the
// kernel lacks clone3 or CLONE_INTO_CGROUP (the caller then clones and attaches the usual way).
inline pid_t Clone3IntoCgroup(unsigned long flags, int* pidfd, int cgroup_dir_fd) {
  CloneArgs args;
  args.flags = flags | kCloneIntoCgroup | (pidfd != nullptr ? CLONE_PIDFD : 0);
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_dir_fd);
  return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
}

}  // namespace airlock::kernel
