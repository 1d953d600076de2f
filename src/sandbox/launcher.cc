#include "sandbox/launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "core/fd_passing.h"
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

bool ClonedInit::Release() {
  char go = 'G';
  return ::write(sync_w_.get(), &go, 1) == 1;
}

void ClonedInit::KillAndReap() {
  Kill();
  int status;
  ::waitpid(pid_, &status, 0);
}

Status ClonedInit::SendExec(std::string_view msg, const int* fds, size_t nfds) {
  if (!exec_w_) return MakeError("the sandbox takes no exec requests");
  ssize_t n = SendWithFds(exec_w_.get(), msg.data(), msg.size(), fds, nfds);
  if (n != static_cast<ssize_t>(msg.size())) return std::unexpected(Error("send the exec request to the sandbox's init", n < 0 ? static_cast<int>(-n) : EIO));
  return Ok();
}

void ClonedInit::Signal(int signo) { kernel::PidfdSendSignal(pidfd_.get(), signo); }

SandboxProcess::Event ClonedInit::OnReadable() {
  int status = 0;
  if (::wait4(pid_, &status, 0, &usage_) != pid_) return Event::kNone;
  status_ = status;
  exited_at_ = SupervisorClock::now();
  return Event::kEnded;
}

namespace {

// clone3 into the v2 cgroup directory when there is one, else clone. When clone3 fails (no clone3 or
// CLONE_INTO_CGROUP, or the cgroup refused us) plain clone is tried: *into_cgroup stays false, the
// caller attaches init the usual way, and a real failure is reported by that clone or that attach.
pid_t CloneInitAsIs(unsigned long flags, int* pidfd, int v2_dir, bool* into_cgroup) {
  *into_cgroup = false;
  if (v2_dir >= 0) {
    pid_t child = kernel::Clone3IntoCgroup(flags, pidfd, v2_dir);
    if (child >= 0) {
      *into_cgroup = true;
      return child;
    }
  }
  return kernel::CloneForkLike(flags, pidfd);
}

}  // namespace

Result<pid_t> CloneInit(const IdMapping& owner_ids, unsigned long flags, int* pidfd, int v2_dir, bool* into_cgroup) {
  auto owner = TakeNamespaceOwnerIdsFromParent(owner_ids);
  if (!owner) return std::unexpected(owner.error());
  pid_t child = CloneInitAsIs(flags, pidfd, v2_dir, into_cgroup);
  if (child != 0) {
    int e = errno;
    if (Status st = RestoreIdsFromParent(*owner); !st) {
      if (child > 0) ::kill(child, SIGKILL);
      return std::unexpected(st.error());
    }
    errno = e;
  }
  return child;
}

Result<ColdLaunched> LaunchCold(const PreparedRun& run, const PayloadSpec& spec, const sigset_t& child_mask,
                                const CgroupJoin& join) {
  auto sync = MakePipe();
  auto errp = MakePipe();
  auto statusp = MakePipe();
  if (!sync || !errp || !statusp) return std::unexpected(Error("pipe2", errno));
  int exec_sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, exec_sv) != 0) return ErrnoError("socketpair");
  UniqueFd exec_parent(exec_sv[0]), exec_child(exec_sv[1]);
  // The supervisor never blocks on init: a request that does not fit now is refused ("busy").
  if (::fcntl(exec_parent.get(), F_SETFL, O_NONBLOCK) != 0) return ErrnoError("fcntl");
  UniqueFd notify_parent, notify_child;
  if (run.seccomp && run.seccomp->uses_user_notif) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return ErrnoError("socketpair");
    notify_parent.reset(sv[0]);
    notify_child.reset(sv[1]);
  }
  int pidfd_raw = -1;
  bool into_cgroup = false;
  auto cloned = CloneInit(run.ids, run.clone_flags, &pidfd_raw, join.v2_dir, &into_cgroup);
  if (!cloned) return std::unexpected(cloned.error());
  pid_t child = *cloned;
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
    ch.exec_read = exec_child.get();
    ch.cgroup_tasks = join.v1_tasks;
    ch.cgroup_tasks_count = join.v1_count;
    // Drop the parent's ends (close without touching UniqueFd bookkeeping in ways that allocate).
    ::close(sync->w.release());
    ::close(errp->r.release());
    ::close(statusp->r.release());
    if (notify_parent) ::close(notify_parent.release());
    ::close(exec_parent.release());
    RunSandboxInitInChild(run, spec, ch);
  }
  ColdLaunched out{ClonedInit(child, UniqueFd(pidfd_raw), std::move(sync->w), std::move(exec_parent)), {},
                   join.v2_dir < 0 || into_cgroup};
  out.channels.error_r = std::move(errp->r);
  out.channels.status_r = std::move(statusp->r);
  out.channels.notify_r = std::move(notify_parent);
  return out;
}

}  // namespace airlock
