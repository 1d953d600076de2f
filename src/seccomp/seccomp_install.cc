// Child side: allocation-free installation of a compiled program.
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "seccomp/seccomp.h"
#include "seccomp/seccomp_abi.h"

namespace airlock {

int InstallSeccompInChild(const SeccompProgram& program) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.insns.size());
  prog.filter = const_cast<sock_filter*>(program.insns.data());
  if (prog.len == 0 || program.insns.size() > BPF_MAXINSNS) return -EINVAL;
  const unsigned long flags = program.uses_user_notif ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
  // The listener fd (if any) is created O_CLOEXEC by the kernel.
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0) return -errno;
  return program.uses_user_notif ? static_cast<int>(rc) : 0;
}

}  // namespace airlock
