#include "seccomp/notify.h"

#include <poll.h>
#include <sys/ioctl.h>

#include <cerrno>

#include "seccomp/bpf_eval.h"
#include "seccomp/seccomp_abi.h"

namespace airlock {
namespace {

enum class Handled { kOk, kRetry };

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
      NotifyEvent ev{static_cast<pid_t>(req.pid), req.data.nr, NotifyName(req.data.nr), &req.data, 0};
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
    NotifyEvent ev{static_cast<pid_t>(req.pid), req.data.nr, NotifyName(req.data.nr), &req.data, err};
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
