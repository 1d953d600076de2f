#include "seccomp/monitor_syscalls.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdint>

namespace airlock {

const std::vector<std::string>& MonitoredSyscalls() {
  static const std::vector<std::string> kSyscalls = {
      "execve", "execveat", "open", "openat", "openat2", "creat", "unlink", "unlinkat", "rename", "renameat",
      "renameat2", "chmod", "fchmod", "fchmodat", "link", "linkat", "symlink", "symlinkat", "connect", "sendto",
      "memfd_create", "utimensat", "truncate", "prctl"};
  return kSyscalls;
}

const std::vector<std::string>& ObservedSyscalls() {
  static const std::vector<std::string> kSyscalls = {"memfd_create", "execveat"};
  return kSyscalls;
}

const std::vector<NotifyArgFilter>& MonitorNotifyFilters() {
  // O_TMPFILE includes O_WRONLY or O_RDWR; O_PATH and read-only opens stay in the kernel.
  constexpr uint64_t kWriteOpen = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC;
  constexpr uint64_t kNotableMode = S_ISUID | S_ISGID | S_ISVTX | S_IXUSR | S_IXGRP | S_IXOTH | S_IWOTH;
  static const std::vector<NotifyArgFilter> kFilters = {
      {"open", 1, kWriteOpen},      {"openat", 2, kWriteOpen},    {"chmod", 1, kNotableMode},
      {"fchmod", 1, kNotableMode},  {"fchmodat", 2, kNotableMode}, {"utimensat", 2, ~0ULL},
  };
  return kFilters;
}

}  // namespace airlock
