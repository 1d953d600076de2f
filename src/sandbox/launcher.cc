#include "sandbox/launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "kernel/syscalls.h"
#include "userns/userns.h"

namespace airlock {
namespace {

struct Pipe {
  UniqueFd r, w;
};
Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace

pid_t CloneSandboxInit(unsigned long flags, CgroupJoin* join, int* pidfd) {
  if (join->into_dir >= 0) {
    join->placed_by_clone = true;
    pid_t pid = kernel::Clone3IntoCgroup(flags, pidfd, join->into_dir);
    if (pid >= 0) return pid;
    // No clone3 or no CLONE_INTO_CGROUP (ENOSYS, E2BIG, EINVAL), or the directory refused us: a plain
    // clone, whose init joins by writing "0" and says why if that fails too; a namespace error
    // comes back from that clone as well.
  }
  join->placed_by_clone = false;
  return kernel::CloneForkLike(flags, pidfd);
}

bool ClonedInit::Release() {
  char go = 'G';
  return ::write(sync_w_.get(), &go, 1) == 1;
}

void ClonedInit::KillAndReap() {
  Kill();
  int status;
  ::waitpid(pid_, &status, 0);
}

void ClonedInit::Signal(int signo) { kernel::PidfdSendSignal(pidfd_.get(), signo); }

SandboxProcess::Event ClonedInit::OnReadable() {
  int status = 0;
  if (::wait4(pid_, &status, 0, &usage_) != pid_) return Event::kNone;
  status_ = status;
  exited_at_ = SupervisorClock::now();
  return Event::kEnded;
}

Result<ColdLaunched> LaunchCold(const PreparedRun& run, const PayloadSpec& spec, const sigset_t& child_mask, CgroupJoin join) {
  auto sync = MakePipe();
  auto errp = MakePipe();
  auto statusp = MakePipe();
  if (!sync || !errp || !statusp) return std::unexpected(Error("pipe2", errno));
  UniqueFd notify_parent, notify_child;
  if (run.seccomp && run.seccomp->uses_user_notif) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return ErrnoError("socketpair");
    notify_parent.reset(sv[0]);
    notify_child.reset(sv[1]);
  }
  int pidfd_raw = -1;
  auto owner = TakeNamespaceOwnerIdsFromParent(run.ids);
  if (!owner) return std::unexpected(owner.error());
  pid_t child = CloneSandboxInit(run.clone_flags, &join, &pidfd_raw);
  if (child != 0) {
    int e = errno;
    if (Status st = RestoreIdsFromParent(*owner); !st) {
      if (child > 0) ::kill(child, SIGKILL);
      return std::unexpected(st.error());
    }
    errno = e;
  }
  if (child < 0) {
    int e = errno;
    std::string diag = DiagnoseUserNamespaces();
    return std::unexpected(Error(diag.empty() ? "clone (creating namespaces)" : "clone: " + diag, e));
  }
  if (child == 0) {
    ::sigprocmask(SIG_SETMASK, &child_mask, nullptr);
    ChildChannels ch;
    ch.sync_read = sync->r.get();
    ch.error_write = errp->w.get();
    ch.status_write = statusp->w.get();
    ch.notify_write = notify_child ? notify_child.get() : -1;
    ch.cgroup = join;
    // Drop the parent's ends (close without touching UniqueFd bookkeeping in ways that allocate).
    ::close(sync->w.release());
    ::close(errp->r.release());
    ::close(statusp->r.release());
    if (notify_parent) ::close(notify_parent.release());
    RunSandboxInitInChild(run, spec, ch);
  }
  ColdLaunched out{ClonedInit(child, UniqueFd(pidfd_raw), std::move(sync->w)), {}};
  out.channels.error_r = std::move(errp->r);
  out.channels.status_r = std::move(statusp->r);
  out.channels.notify_r = std::move(notify_parent);
  return out;
}

}  // namespace airlock
