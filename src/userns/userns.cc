#include "userns/userns.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <fstream>

#include "core/unique_fd.h"

namespace airlock {
namespace {

Status WriteProcFile(pid_t pid, const char* name, const std::string& content) {
  std::string path = fmt::format("/proc/{}/{}", pid, name);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + path);
  ssize_t n = ::write(fd.get(), content.data(), content.size());
  if (n != static_cast<ssize_t>(content.size())) return ErrnoError(fmt::format("write '{}' to {}", content, path));
  return Ok();
}

std::string ReadTrimmed(const char* path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

// Per-thread credential calls (glibc's wrappers change every thread of the process).
long ThreadSetresuid(uid_t r, uid_t e, uid_t s) { return ::syscall(SYS_setresuid, r, e, s); }
long ThreadSetresgid(gid_t r, gid_t e, gid_t s) { return ::syscall(SYS_setresgid, r, e, s); }

// effective := permitted, for the calling thread.
Status RaiseEffectiveFromPermitted() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return ErrnoError("capget");
  for (auto& d : data) d.effective = d.permitted;
  if (::syscall(SYS_capset, &header, data) != 0) return ErrnoError("capset");
  return Ok();
}

}  // namespace

Result<SavedIds> TakeNamespaceOwnerIdsFromParent(const IdMapping& m) {
  SavedIds saved;
  if (!m.caller_is_root) return saved;
  if (::getresuid(&saved.ruid, &saved.euid, &saved.suid) != 0 || ::getresgid(&saved.rgid, &saved.egid, &saved.sgid) != 0) {
    return ErrnoError("user namespace owner: getresuid");
  }
  saved.dumpable = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  // The kernel clears the parent-death signal on an effective-id change: re-armed on restore.
  if (::prctl(PR_GET_PDEATHSIG, &saved.pdeath_signal, 0, 0, 0) != 0) saved.pdeath_signal = 0;
  saved.parent = ::getppid();
  const std::string why = fmt::format(
      "user namespace owner: root cannot act as uid {} gid {} to create the sandbox's namespace (needs CAP_SETUID and "
      "CAP_SETGID, and the ids mapped in this namespace; or run airlock as an ordinary user)",
      m.outside_uid, m.outside_gid);
  if (ThreadSetresgid(static_cast<gid_t>(-1), m.outside_gid, static_cast<gid_t>(-1)) != 0) return ErrnoError(why + ": setresgid");
  saved.changed = true;
  if (ThreadSetresuid(static_cast<uid_t>(-1), m.outside_uid, static_cast<uid_t>(-1)) != 0) {
    Error e(why + ": setresuid", errno);
    if (Status r = RestoreIdsFromParent(saved); !r) return std::unexpected(r.error());
    return std::unexpected(std::move(e));
  }
  // The filesystem ids follow the effective ones: back to root (allowed: the real ids are 0).
  ::syscall(SYS_setfsuid, 0);
  ::syscall(SYS_setfsgid, 0);
  if (Status st = RaiseEffectiveFromPermitted(); !st) {
    if (Status r = RestoreIdsFromParent(saved); !r) return std::unexpected(r.error());
    return std::unexpected(std::move(st.error()).WithContext(why));
  }
  // An effective-uid change made the process non-dumpable (suid_dumpable); the child inherits that.
  if (saved.dumpable >= 0) ::prctl(PR_SET_DUMPABLE, saved.dumpable, 0, 0, 0);
  return saved;
}

Status RestoreIdsFromParent(const SavedIds& saved) {
  if (!saved.changed) return Ok();
  // uid first: effective uid 0 brings the effective capabilities back (CAP_SETGID for the gids).
  if (ThreadSetresuid(saved.ruid, saved.euid, saved.suid) != 0) return ErrnoError("restore uids after the clone");
  if (ThreadSetresgid(saved.rgid, saved.egid, saved.sgid) != 0) return ErrnoError("restore gids after the clone");
  if (saved.dumpable >= 0) ::prctl(PR_SET_DUMPABLE, saved.dumpable, 0, 0, 0);
  if (saved.pdeath_signal != 0) {
    // E.g. `airlock analyze` (process/spawn.h kill_with_caller): airlock must still die with it. A
    // parent that died while the signal was off has left us reparented: act on it now.
    if (::prctl(PR_SET_PDEATHSIG, saved.pdeath_signal, 0, 0, 0) != 0) return ErrnoError("re-arm the parent-death signal");
    if (::getppid() != saved.parent) ::raise(saved.pdeath_signal);
  }
  return Ok();
}

Result<IdMapping> PlanIdMapping(const IdentityPolicy& identity) {
  IdMapping m;
  m.caller_is_root = ::geteuid() == 0;
  if (m.caller_is_root) {
    m.inside_uid = identity.uid.value_or(0);
    m.inside_gid = identity.gid.value_or(0);
    m.outside_uid = identity.outside_uid_when_root;
    m.outside_gid = identity.outside_gid_when_root;
    if (m.outside_uid == 0 || m.outside_gid == 0) {
      return MakeError("identity.outside_uid/outside_gid must not be 0: the sandbox would be host root after an escape");
    }
  } else {
    m.inside_uid = identity.uid.value_or(::geteuid());
    m.inside_gid = identity.gid.value_or(::getegid());
    m.outside_uid = ::geteuid();
    m.outside_gid = ::getegid();
  }
  return m;
}

Status WriteIdMapsFromParent(pid_t child, const IdMapping& m) {
  AIRLOCK_TRY_STATUS(WriteProcFile(child, "uid_map", fmt::format("{} {} 1\n", m.inside_uid, m.outside_uid)), "user namespace");
  // Unprivileged: the kernel requires setgroups to be denied before gid_map can be written. Root keeps
  // setgroups available so the sandbox can drop root's supplementary groups (setgroups(0)).
  if (!m.caller_is_root) AIRLOCK_TRY_STATUS(WriteProcFile(child, "setgroups", "deny\n"), "user namespace");
  AIRLOCK_TRY_STATUS(WriteProcFile(child, "gid_map", fmt::format("{} {} 1\n", m.inside_gid, m.outside_gid)), "user namespace");
  return Ok();
}

Result<UniqueFd> MakeIdmapNamespaceFromParent(const IdMapping& mapping) {
  int ready[2], hold[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return ErrnoError("idmap namespace: pipe");
  UniqueFd ready_r(ready[0]), ready_w(ready[1]);
  if (::pipe2(hold, O_CLOEXEC) != 0) return ErrnoError("idmap namespace: pipe");
  UniqueFd hold_r(hold[0]), hold_w(hold[1]);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("idmap namespace: fork");
  if (pid == 0) {  // async-signal-safe only: a new user namespace, then wait until the parent is done
    ::close(hold[1]);  // only the parent's copy may hold the helper
    ::close(ready[0]);
    char c = ::unshare(CLONE_NEWUSER) == 0 ? 'u' : 'e';
    if (::write(ready_w.get(), &c, 1) != 1) ::_exit(1);
    ::_exit(::read(hold_r.get(), &c, 1) < 0 ? 1 : 0);
  }
  ready_w.reset();
  hold_r.reset();
  char c = 0;
  Result<UniqueFd> out = MakeError("idmap namespace: the helper could not create a user namespace");
  if (::read(ready_r.get(), &c, 1) == 1 && c == 'u') {
    IdMapping m = mapping;
    m.caller_is_root = false;  // setgroups denied: the namespace is only an id map
    if (Status s = WriteIdMapsFromParent(pid, m); !s) {
      out = std::unexpected(s.error());
    } else {
      UniqueFd ns(::open(fmt::format("/proc/{}/ns/user", pid).c_str(), O_RDONLY | O_CLOEXEC));
      out = ns ? Result<UniqueFd>(std::move(ns)) : ErrnoError("idmap namespace: open ns/user");
    }
  }
  hold_w.reset();  // the helper exits
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return out;
}

std::string DiagnoseUserNamespaces() {
  std::string max = ReadTrimmed("/proc/sys/user/max_user_namespaces");
  if (max == "0") return "user namespaces are disabled (user.max_user_namespaces = 0); set it to a positive value";
  std::string clone = ReadTrimmed("/proc/sys/kernel/unprivileged_userns_clone");
  if (clone == "0" && ::geteuid() != 0) {
    return "unprivileged user namespaces are disabled by kernel.unprivileged_userns_clone = 0; run as root or set it to 1";
  }
  std::string apparmor = ReadTrimmed("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  if (apparmor == "1" && ::geteuid() != 0) {
    return "user namespaces are restricted by kernel.apparmor_restrict_unprivileged_userns = 1; run as root, "
           "or allow airlock with an AppArmor profile granting 'userns,'";
  }
  return "";
}

}  // namespace airlock
