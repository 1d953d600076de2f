#include "seccomp/notify.h"

#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "seccomp/bpf_eval.h"
#include "seccomp/seccomp_abi.h"

namespace airlock {
namespace {

enum class Handled { kOk, kRetry };

// NotifyName without a libseccomp lookup per notification. Bounded: the sandbox chooses the numbers.
std::string CachedName(int nr) {
  constexpr int kCached = 1024;
  if (nr < 0 || nr >= kCached) return NotifyName(nr);
  thread_local std::vector<std::string> names(kCached);
  std::string& n = names[static_cast<size_t>(nr)];
  if (n.empty()) n = NotifyName(nr);
  return n;
}

struct Hooks {
  const NotifyHook& monitored;
  const NotifyDeniedHook& denied;
};

Result<Handled> HandleOne(int fd, const SeccompProgram& program, const Hooks& hooks, NotifyStats& stats) {
  seccomp_notif req{};  // the kernel requires a zeroed buffer
  if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
    // ENOENT: the target died between poll and recv. EINTR: signal.
    if (errno == ENOENT || errno == EINTR) return Handled::kRetry;
    return ErrnoError("SECCOMP_IOCTL_NOTIF_RECV");
  }
  seccomp_notif_resp resp{};
  resp.id = req.id;

  auto verdict = EvaluateBpf(program.verdict_insns, req.data);
  const uint32_t action = verdict ? verdict->action : (SECCOMP_RET_ERRNO | EPERM);
  if ((action & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ALLOW) {
    ++stats.monitored;
    NotifyAnswer answer;
    if (hooks.monitored) {
      if (ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) != 0) {
        ++stats.lost;
        return Handled::kOk;
      }
      NotifyEvent ev{static_cast<pid_t>(req.pid), req.data.nr, CachedName(req.data.nr), &req.data, 0};
      answer = hooks.monitored(ev);
    }
    if (answer.allow) {
      resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else {
      resp.error = -(answer.err > 0 ? answer.err : EPERM);
    }
  } else {
    int err = (action & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO ? static_cast<int>(action & SECCOMP_RET_DATA)
                                                                        : EPERM;
    if (err <= 0) err = EPERM;
    NotifyEvent ev{static_cast<pid_t>(req.pid), req.data.nr, CachedName(req.data.nr), &req.data, err};
    ++stats.denials[ev.name];
    if (hooks.denied && ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) == 0) hooks.denied(ev);
    resp.error = -err;
  }
  if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0) {
    if (errno == ENOENT) {
      ++stats.lost;
      return Handled::kOk;
    }
    return ErrnoError("SECCOMP_IOCTL_NOTIF_SEND");
  }
  return Handled::kOk;
}

// Linux 6.12+ (EEVDF): a thread's requested slice comes from sched_attr::sched_runtime for
// SCHED_OTHER, and a task with a shorter slice preempts a longer one on wake-up. The supervisor runs
// for microseconds per notification while the notifying thread waits: asking for the shortest slice
// (0.1 ms) lets it run as soon as it is woken instead of after the current task's slice on a busy
// CPU. Its weight (nice) is unchanged, so is its share of the CPU. Older kernels ignore the field
// for SCHED_OTHER; failure changes nothing.
bool RequestShortSlice() {
  struct {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
  } attr{};
  attr.size = sizeof attr;
  attr.sched_policy = SCHED_OTHER;
  attr.sched_nice = getpriority(PRIO_PROCESS, 0);  // this thread's (Linux: per thread)
  attr.sched_runtime = 100 * 1000;                 // ns
  return syscall(SYS_sched_setattr, 0, &attr, 0) == 0;
}

}  // namespace

std::string NotifyName(int nr) {
  std::string name = SyscallName(nr);
  return name.empty() ? "syscall_" + std::to_string(nr) : name;
}

Result<NotifyStats> RunNotifySupervisor(int listener_fd, const SeccompProgram& program, int stop_fd,
                                        const NotifyHook& hook, const NotifyDeniedHook& denied_hook) {
  const Hooks hooks{hook, denied_hook};
  NotifyStats stats;
  if (listener_fd < 0) return MakeError("seccomp supervisor: no listener fd", EBADF);
  // Linux 6.6+: wake the notifying thread and the supervisor on the waker's CPU, so a round trip is
  // two direct switches rather than two cross-CPU wake-ups. Older kernels answer EINVAL/ENOTTY.
  stats.sync_wakeup = ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0;
  stats.short_slice = RequestShortSlice();
  for (;;) {
    pollfd fds[2] = {{listener_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    int n = poll(fds, stop_fd >= 0 ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("poll seccomp listener");
    }
    if (stop_fd >= 0 && (fds[1].revents & POLLIN)) break;
    if (fds[0].revents & POLLIN) {
      auto r = HandleOne(listener_fd, program, hooks, stats);
      if (!r) return std::unexpected(std::move(r.error()).WithContext("seccomp supervisor"));
      continue;
    }
    if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) break;
  }
  return stats;
}

}  // namespace airlock
