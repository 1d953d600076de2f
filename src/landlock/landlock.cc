#include "landlock/landlock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "kernel/landlock_abi.h"

namespace airlock {
namespace {

using kernel::kLandlockFsAbi1;
using kernel::kLandlockFsDirOnly;
using kernel::kLandlockFsRefer;

constexpr uint64_t kRead = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_EXECUTE;
constexpr uint64_t kReadNoExec = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
constexpr uint64_t kDev = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_IOCTL_DEV;

void AddRule(LandlockPlan& plan, const std::string& path, uint64_t access) {
  access &= plan.handled_fs;
  if (path.empty() || access == 0) return;
  for (auto& r : plan.rules) {
    if (r.path == path) {
      r.access |= access;
      return;
    }
  }
  plan.rules.push_back(LandlockRule{path, access});
}

// Port of a "host:port" / "cidr:port" / "[v6]:port" entry, 0 when it has no single numeric port.
uint16_t PortOf(const std::string& entry) {
  auto colon = entry.rfind(':');
  if (colon == std::string::npos || colon + 1 >= entry.size()) return 0;
  // A bare IPv6 address ("::1", "fd00::/8") has colons but no port; with a port it is "[::1]:443".
  if (entry.find(':') != colon && (entry.empty() || entry[0] != '[' || entry[colon - 1] != ']')) return 0;
  std::string p = entry.substr(colon + 1);
  if (p.size() > 5 || !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; })) return 0;
  unsigned long v = std::stoul(p);
  return v >= 1 && v <= 65535 ? static_cast<uint16_t>(v) : 0;
}

}  // namespace

int LandlockAbiVersion() {
  long v = kernel::LandlockCreateRuleset(nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return v < 0 ? 0 : static_cast<int>(v);
}

uint64_t LandlockHandledFsForAbi(int abi) {
  if (abi < 1) return 0;
  uint64_t fs = kLandlockFsAbi1;
  if (abi >= 2) fs |= kLandlockFsRefer;
  if (abi >= 3) fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5) fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  return fs;
}

uint64_t LandlockReadRights() { return kRead; }

Result<LandlockPlan> PrepareLandlockFromParent(const Policy& policy, const std::vector<MountEntry>& mounts) {
  if (policy.landlock.requirement == Requirement::kDisabled) return LandlockPlan{};
  return PrepareLandlockForAbi(policy, mounts, LandlockAbiVersion());
}

Result<LandlockPlan> PrepareLandlockForAbi(const Policy& policy, const std::vector<MountEntry>& mounts, int abi) {
  LandlockPlan plan;
  const auto& req = policy.landlock.requirement;
  if (req == Requirement::kDisabled) return plan;  // a weakening the caller reports as such
  plan.abi = std::max(abi, 0);
  if (req == Requirement::kRequired && (plan.abi == 0 || plan.abi < policy.landlock.min_abi)) {
    return MakeError("Landlock ABI " + std::to_string(plan.abi) + " < required " + std::to_string(std::max(policy.landlock.min_abi, 1)));
  }
  if (plan.abi == 0) {
    plan.not_enforced.push_back("Landlock is not available in this kernel: no filesystem, network or scope rules");
    return plan;
  }
  plan.enabled = true;
  plan.handled_fs = LandlockHandledFsForAbi(plan.abi);
  if (plan.abi < 3) plan.not_enforced.push_back("truncating files is not restricted by Landlock (needs ABI 3, kernel has " + std::to_string(plan.abi) + ")");
  if (plan.abi < 5) plan.not_enforced.push_back("ioctl on device files is not restricted by Landlock (needs ABI 5, kernel has " + std::to_string(plan.abi) + ")");

  // The built-in skeleton the mount layer creates.
  AddRule(plan, "/", LANDLOCK_ACCESS_FS_READ_DIR);
  AddRule(plan, "/etc", kReadNoExec);
  AddRule(plan, "/tmp", plan.handled_fs);
  if (!policy.home.empty()) AddRule(plan, policy.home, plan.handled_fs);
  if (policy.mount_dev) {
    AddRule(plan, "/dev", kDev);
    AddRule(plan, "/dev/shm", plan.handled_fs);  // the mount layer's 1777 tmpfs for POSIX shm
  }
  // A payload allowed to nest user namespaces (a browser's own sandbox) writes its new namespace's
  // /proc/self/{uid_map,gid_map,setgroups}: write_file on /proc then, nothing else (/proc/sys stays
  // read-only by mount, and the kernel's own checks on each /proc file still apply).
  if (policy.mount_proc)
    AddRule(plan, "/proc", policy.allow_nested_userns ? kReadNoExec | LANDLOCK_ACCESS_FS_WRITE_FILE : kReadNoExec);

  for (const auto& m : mounts) {
    switch (m.kind) {
      case MountEntry::Kind::kRoBind:
      case MountEntry::Kind::kFile:
      case MountEntry::Kind::kDir:
        AddRule(plan, m.dst, kRead);
        break;
      case MountEntry::Kind::kBind:
      case MountEntry::Kind::kTmpfs:
      case MountEntry::Kind::kOverlay:
        AddRule(plan, m.dst, plan.handled_fs);
        break;
      case MountEntry::Kind::kDevBind:
        AddRule(plan, m.dst, kDev);
        break;
      case MountEntry::Kind::kSymlink:
        break;  // opening it would follow the link; its target has (or lacks) its own rule
    }
  }

  if (policy.net.mode == NetMode::kNone || policy.net.mode == NetMode::kUser) {
    if (plan.abi >= 4) {
      plan.handled_net = LANDLOCK_ACCESS_NET_BIND_TCP;
      for (int port : policy.net.listen) plan.bind_ports.push_back(static_cast<uint16_t>(port));
      bool restrict_connect = true;
      std::vector<uint16_t> ports;
      if (policy.net.mode == NetMode::kUser) {
        if (policy.net.allow.empty()) restrict_connect = false;  // empty allow list = any destination
        for (const auto& entry : policy.net.allow) {
          uint16_t p = PortOf(entry);
          if (p == 0) {
            restrict_connect = false;
            plan.not_enforced.push_back("TCP connect is not restricted by port: allow entry '" + entry + "' has no single port");
            break;
          }
          if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
        }
      }
      if (restrict_connect) {
        plan.handled_net |= LANDLOCK_ACCESS_NET_CONNECT_TCP;
        plan.connect_ports = std::move(ports);
      }
    } else {
      plan.not_enforced.push_back("TCP bind/connect is not restricted by Landlock (needs ABI 4, kernel has " + std::to_string(plan.abi) + ")");
    }
  }
  if (plan.abi >= 6) {
    plan.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
  } else {
    plan.not_enforced.push_back("abstract unix sockets and signals to processes outside the sandbox are not scoped by Landlock (needs ABI 6, kernel has " + std::to_string(plan.abi) + ")");
  }
  return plan;
}

int ApplyLandlockInChild(const LandlockPlan& plan) {
  if (!plan.enabled) return 0;
  int ruleset = BuildLandlockRulesetInChild(plan);
  if (ruleset < 0) return ruleset;
  int rc = RestrictLandlockInChild(ruleset);
  ::close(ruleset);
  return rc;
}

int RestrictLandlockInChild(int ruleset) { return kernel::LandlockRestrictSelf(ruleset, 0) != 0 ? -errno : 0; }

int BuildLandlockRulesetInChild(const LandlockPlan& plan) {
  kernel::LandlockRulesetAttr attr;
  attr.handled_access_fs = plan.handled_fs;
  attr.handled_access_net = plan.abi >= 4 ? plan.handled_net : 0;
  attr.scoped = plan.abi >= 6 ? plan.scoped : 0;
  int ruleset = static_cast<int>(kernel::LandlockCreateRuleset(&attr, kernel::LandlockRulesetAttrSize(plan.abi), 0));
  if (ruleset < 0) return -errno;
  int rc = 0;
  for (const auto& rule : plan.rules) {
    int fd = ::open(rule.path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) {
      // Skipping a rule only takes rights away, so a path this process cannot reach is no error.
      if (errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == ELOOP) continue;
      rc = -errno;
      break;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      rc = -errno;
      ::close(fd);
      break;
    }
    kernel::LandlockPathBeneathAttr pb{};
    pb.allowed_access = rule.access & plan.handled_fs;
    if (!S_ISDIR(st.st_mode)) pb.allowed_access &= ~kLandlockFsDirOnly;
    pb.parent_fd = fd;
    long r = pb.allowed_access ? kernel::LandlockAddRule(ruleset, kernel::kLandlockRulePathBeneath, &pb, 0) : 0;
    int saved = errno;
    ::close(fd);
    if (r != 0) {
      rc = -saved;
      break;
    }
  }
  for (uint16_t port : plan.bind_ports) {
    if (rc != 0 || !(plan.handled_net & LANDLOCK_ACCESS_NET_BIND_TCP)) break;
    kernel::LandlockNetPortAttr np{LANDLOCK_ACCESS_NET_BIND_TCP, port};
    if (kernel::LandlockAddRule(ruleset, kernel::kLandlockRuleNetPort, &np, 0) != 0) rc = -errno;
  }
  if (rc == 0 && (plan.handled_net & LANDLOCK_ACCESS_NET_CONNECT_TCP)) {
    for (uint16_t port : plan.connect_ports) {
      kernel::LandlockNetPortAttr np{LANDLOCK_ACCESS_NET_CONNECT_TCP, port};
      if (kernel::LandlockAddRule(ruleset, kernel::kLandlockRuleNetPort, &np, 0) != 0) {
        rc = -errno;
        break;
      }
    }
  }
  if (rc != 0) {
    ::close(ruleset);
    return rc;
  }
  return ruleset;
}

}  // namespace airlock
