// Supervisor side of SECCOMP_RET_USER_NOTIF: counts denied syscalls by name and answers them with
// their errno, and lets a hook observe (and optionally fail) monitored syscalls.
//
// Contract:
//  - RunNotifySupervisor runs on the calling thread until the listener reports POLLHUP (every
//    process using the filter has exited and been reaped: zombies still hold the filter) or `stop_fd`
//    (an eventfd, -1 for none) becomes readable. Pending notifications are drained before a POLLHUP
//    is honoured. After it returns, close the listener: calls still waiting then fail with ENOSYS.
//  - The caller keeps ownership of listener_fd and stop_fd.
//  - Each notification is classified by evaluating program.verdict_insns on its seccomp_data: ERRNO(e)
//    is a denial (counted, denied_hook, answered -e); ALLOW is a monitored call (hook, default
//    CONTINUE).
//  - A monitored call is never allowed through without CONTINUE's TOCTOU caveat: the hook observes,
//    it must not treat pointer arguments as a security decision. Hooks are only called after
//    SECCOMP_IOCTL_NOTIF_ID_VALID confirms the target is still waiting. Both run on this thread.
//  - `program` must outlive the call. Not thread-safe with itself on the same listener.
//  - Where the kernel has it (6.6+), the listener is switched to synchronous wake-ups
//    (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP), and the calling thread asks for a 0.1 ms scheduler slice
//    (6.12+, wake-up preemption; its CPU share is unchanged). NotifyStats says what was engaged.
#pragma once

#include <linux/seccomp.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "core/error.h"
#include "seccomp/seccomp.h"

namespace airlock {

struct NotifyEvent {
  pid_t pid = 0;
  int nr = -1;
  std::string name;  // SyscallName(nr), or "syscall_<nr>"
  const seccomp_data* data = nullptr;
  int deny_errno = 0;  // denied calls: the errno the supervisor answers; 0 for monitored calls
};

struct NotifyAnswer {
  bool allow = true;  // true: SECCOMP_USER_NOTIF_FLAG_CONTINUE
  int err = EPERM;    // when !allow: the syscall fails with this errno
};

using NotifyHook = std::function<NotifyAnswer(const NotifyEvent&)>;
// Observes a denied call before it is answered (the target is still blocked, so /proc/PID/mem is
// readable); it cannot change the answer.
using NotifyDeniedHook = std::function<void(const NotifyEvent&)>;

struct NotifyStats {
  std::map<std::string, uint64_t> denials;  // denied syscalls by name
  uint64_t monitored = 0;                   // monitored calls seen
  uint64_t lost = 0;                        // targets that died before they were answered
  bool sync_wakeup = false;                 // SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP engaged (Linux 6.6+)
  bool short_slice = false;                 // the supervisor thread asked for a 0.1 ms slice (6.12+)
};

// Name used for counting: SyscallName(nr) or "syscall_<nr>" when unknown.
std::string NotifyName(int nr);

Result<NotifyStats> RunNotifySupervisor(int listener_fd, const SeccompProgram& program, int stop_fd = -1,
                                        const NotifyHook& hook = {}, const NotifyDeniedHook& denied_hook = {});

}  // namespace airlock
