#include "userns/userns.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

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

}  // namespace

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
