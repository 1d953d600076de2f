#include "net/helper_creds.h"

#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace airlock {
namespace {

int SetCaps(uint64_t permitted, uint64_t effective, uint64_t inheritable) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  data[0].permitted = static_cast<uint32_t>(permitted);
  data[1].permitted = static_cast<uint32_t>(permitted >> 32);
  data[0].effective = static_cast<uint32_t>(effective);
  data[1].effective = static_cast<uint32_t>(effective >> 32);
  data[0].inheritable = static_cast<uint32_t>(inheritable);
  data[1].inheritable = static_cast<uint32_t>(inheritable >> 32);
  return ::syscall(SYS_capset, &hdr, data) == 0 ? 0 : -errno;
}

// Drops every capability but `caps` from the bounding set (needs CAP_SETPCAP); stops at the first
// number the kernel does not know.
int DropBoundingExcept(uint64_t caps) {
  for (int cap = 0; cap < 64; ++cap) {
    if (caps & CapBit(cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) break;
      return -errno;
    }
  }
  return 0;
}

}  // namespace

int KeepOnlyCapsInHelper(uint64_t caps) {
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return -errno;
  if (int rc = SetCaps(caps, caps, caps); rc != 0) return rc;
  for (int cap = 0; cap < 64; ++cap) {
    if ((caps & CapBit(cap)) && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) return -errno;
  }
  return 0;
}

int BecomeSandboxUserInHelper(int userns_fd, uid_t uid, gid_t gid, uint64_t caps, const char** step) {
  pid_t parent = ::getppid();
  // Root's supplementary groups would stay host groups inside: drop them while we still may (an
  // ordinary caller cannot, and keeps its own, as the sandbox does).
  *step = "setgroups";
  if (::setgroups(0, nullptr) != 0 && errno != EPERM) return -errno;
  *step = "setns user namespace";
  if (::setns(userns_fd, CLONE_NEWUSER) != 0) return -errno;
  *step = "drop the bounding set";
  if (int rc = DropBoundingExcept(caps); rc != 0) return rc;
  *step = "setresgid";
  if (::setresgid(gid, gid, gid) != 0) return -errno;
  *step = "keep capabilities";
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return -errno;
  *step = "setresuid";
  if (::setresuid(uid, uid, uid) != 0) return -errno;
  *step = "capset";
  if (int rc = KeepOnlyCapsInHelper(caps); rc != 0) return rc;
  *step = "no_new_privs";
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
  // Changing credentials clears the parent-death signal: set it last, then make sure the parent
  // did not exit before it was set.
  *step = "parent-death signal";
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return -errno;
  if (::getppid() != parent) return -ESRCH;
  return 0;
}

uint64_t EffectiveCapsOfSelf() {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &hdr, data) != 0) return ~uint64_t{0};
  return static_cast<uint64_t>(data[0].effective) | (static_cast<uint64_t>(data[1].effective) << 32);
}

std::vector<std::string> CapNames(uint64_t caps) {
  static const char* const kNames[] = {
      "cap_chown",          "cap_dac_override",   "cap_dac_read_search", "cap_fowner",       "cap_fsetid",
      "cap_kill",           "cap_setgid",         "cap_setuid",          "cap_setpcap",      "cap_linux_immutable",
      "cap_net_bind_service", "cap_net_broadcast", "cap_net_admin",      "cap_net_raw",      "cap_ipc_lock",
      "cap_ipc_owner",      "cap_sys_module",     "cap_sys_rawio",       "cap_sys_chroot",   "cap_sys_ptrace",
      "cap_sys_pacct",      "cap_sys_admin",      "cap_sys_boot",        "cap_sys_nice",     "cap_sys_resource",
      "cap_sys_time",       "cap_sys_tty_config", "cap_mknod",           "cap_lease",        "cap_audit_write",
      "cap_audit_control",  "cap_setfcap",        "cap_mac_override",    "cap_mac_admin",    "cap_syslog",
      "cap_wake_alarm",     "cap_block_suspend",  "cap_audit_read",      "cap_perfmon",      "cap_bpf",
      "cap_checkpoint_restore"};
  std::vector<std::string> out;
  for (int cap = 0; cap < 64; ++cap) {
    if (!(caps & CapBit(cap))) continue;
    out.push_back(cap < static_cast<int>(std::size(kNames)) ? kNames[cap] : "cap_" + std::to_string(cap));
  }
  return out;
}

}  // namespace airlock
