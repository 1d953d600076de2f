#include "probe/probe.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "cgroup/cgroup.h"
#include "core/unique_fd.h"
#include "kernel/syscalls.h"
#include "landlock/landlock.h"
#include "net/net.h"
#include "process/spawn.h"
#include "userns/userns.h"

namespace airlock {
namespace {

std::string ReadLine(const char* path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

// Runs fn in a forked child; returns its exit code (0 = success), or -1 if it could not fork.
template <class F>
int InChild(F fn) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) _exit(fn());
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s.empty() ? "none" : s;
}

bool HasMemoryAndPids(const std::vector<std::string>& writable) {
  auto has = [&writable](const char* c) { return std::find(writable.begin(), writable.end(), c) != writable.end(); };
  return has("memory") && has("pids");
}

// What bounds a sandbox of this user, and how to get cgroup limits when they are missing.
std::string CgroupLimitsDetail(const CgroupSupport& cg, bool root) {
  if (HasMemoryAndPids(cg.writable)) {
    return "writable: " + Join(cg.writable) + " (memory and pids limits are cgroup limits for the whole sandbox)";
  }
  std::string text = fmt::format(
      "{}: the memory limit falls back to RLIMIT_AS (each process's address space) and the pids limit to "
      "RLIMIT_NPROC (the sandbox's own user namespace); --cpu is refused; the report's \"bounds\" says which. "
      "For cgroup limits ",
      cg.writable.empty() ? "no writable cgroup controller for this user" : "writable: " + Join(cg.writable) + " only");
  if (root) return text + "give airlock a writable cgroup (it runs in a read-only or foreign cgroup here)";
  text += "run airlock as root, or in a cgroup v2 subtree delegated to you, e.g. "
          "`systemd-run --user --scope -p Delegate=yes airlock run ...` (airlock must be the scope's only process; "
          "docs/LIMITS.md)";
  bool v2_controllers = std::find(cg.v2_controllers.begin(), cg.v2_controllers.end(), "memory") != cg.v2_controllers.end();
  if (!v2_controllers && !cg.v1_controllers.empty()) {
    text += "; here memory and pids are cgroup v1 controllers, which cannot be delegated to a user: boot with "
            "systemd.unified_cgroup_hierarchy=1 (cgroup v2) first";
  }
  return text;
}

}  // namespace

// Root callers' boxes idmap their layers (mount/mount_plan.h StageIdmappedLayersFromParent): tried
// on /var/lib, where root's box store lives by default.
static ProbeItem ProbeIdmappedMounts() {
  ProbeItem item{"idmapped mounts", false, "", false};
  IdMapping m;
  m.outside_uid = m.outside_gid = 65534;
  auto ns = MakeIdmapNamespaceFromParent(m);
  UniqueFd tree(::open_tree(AT_FDCWD, "/var/lib", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = ns ? static_cast<uint64_t>(ns->get()) : 0;
  item.ok = ns && tree && ::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) == 0;
  item.detail = item.ok ? "available on /var/lib (root's boxes: root-owned trees writable, files keep their owner)"
                        : fmt::format("not on /var/lib ({}): root's boxes need their store and trees on ext4, xfs, btrfs or tmpfs (Linux >= 6.3)",
                                      ns ? std::strerror(errno) : ns.error().What());
  return item;
}

// Writes `text` to the file `path` (a /proc file of the probe's own child); false on failure.
static bool WriteSmallFile(const char* path, const char* text) {
  UniqueFd fd(::open(path, O_WRONLY | O_CLOEXEC));
  const ssize_t n = static_cast<ssize_t>(std::strlen(text));
  return fd && ::write(fd.get(), text, static_cast<size_t>(n)) == n;
}

bool KernelOverlayInUserNamespaces() {
  char base[] = "/tmp/airlock-overlay-probe-XXXXXX";
  if (::mkdtemp(base) == nullptr) return false;
  const std::string lower = std::string(base) + "/lower", upper = std::string(base) + "/upper",
                    work = std::string(base) + "/work";
  bool dirs = true;
  for (const std::string* d : {&lower, &upper, &work}) dirs = dirs && ::mkdir(d->c_str(), 0700) == 0;
  // Formatted before the fork: the child only makes syscalls.
  const std::string uid_map = fmt::format("0 {} 1\n", ::geteuid()), gid_map = fmt::format("0 {} 1\n", ::getegid());
  const int rc = !dirs ? 1 : InChild([&] {
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return 2;
    if (!WriteSmallFile("/proc/self/setgroups", "deny") || !WriteSmallFile("/proc/self/uid_map", uid_map.c_str()) ||
        !WriteSmallFile("/proc/self/gid_map", gid_map.c_str())) {
      return 3;
    }
    UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
    if (!fs) return 1;
    const char* const kv[][2] = {{"lowerdir", lower.c_str()}, {"upperdir", upper.c_str()}, {"workdir", work.c_str()}};
    for (const auto& [k, v] : kv) {
      if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, k, v, 0) != 0) return 1;
    }
    if (::fsconfig(fs.get(), FSCONFIG_SET_FLAG, "userxattr", nullptr, 0) != 0) return 1;
    return ::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0 ? 0 : 1;
  });
  // The overlay leaves work/work (mode 000) behind.
  const std::string workwork = work + "/work";
  ::chmod(workwork.c_str(), 0700);
  ::rmdir(workwork.c_str());
  for (const std::string* d : {&lower, &upper, &work}) ::rmdir(d->c_str());
  ::rmdir(base);
  return rc == 0;
}

std::string FuseOverlayProblem() {
  const std::string program = process::FindSystemProgram("fuse-overlayfs");
  if (program.empty()) return "fuse-overlayfs is not installed (apt-get install fuse-overlayfs)";
  struct stat st {};
  if (::stat("/dev/fuse", &st) != 0 || !S_ISCHR(st.st_mode)) return "/dev/fuse is missing (as root: modprobe fuse)";
  // A root caller's sandbox runs as an unprivileged host uid: the device must be open to others.
  const bool usable = ::geteuid() == 0 ? (st.st_mode & 0006) == 0006 : ::access("/dev/fuse", R_OK | W_OK) == 0;
  if (!usable) {
    return fmt::format("/dev/fuse is mode {:04o}, so the sandbox user cannot open it; as root run 'chmod 0666 /dev/fuse' "
                       "(the mode Debian's udev rules give it; scripts/install-deps.sh does this)", st.st_mode & 07777);
  }
  return "";
}

std::vector<ProbeItem> ProbeHost() {
  std::vector<ProbeItem> items;
  bool root = ::geteuid() == 0;
  items.push_back({"running as", true, root ? "root (sandbox maps to an unprivileged host uid)" : fmt::format("uid {}", ::geteuid()), false});

  int userns = InChild([] { return ::unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) == 0 ? 0 : errno; });
  std::string diag = DiagnoseUserNamespaces();
  items.push_back({"user namespaces", userns == 0,
                   userns == 0 ? "user, mount, pid, net, ipc, uts namespaces can be created"
                               : (diag.empty() ? fmt::format("unshare failed: {}", strerror(userns)) : diag),
                   true});
  int cgns = InChild([] { return ::unshare(CLONE_NEWCGROUP) == 0 || errno == EPERM ? 0 : errno; });
  items.push_back({"cgroup namespace", cgns == 0, cgns == 0 ? "supported" : "unshare(CLONE_NEWCGROUP) unsupported", true});
  int timens = InChild([] { return ::unshare(CLONE_NEWUSER | CLONE_NEWTIME) == 0 ? 0 : 1; });
  items.push_back({"time namespace", timens == 0, timens == 0 ? "supported (optional)" : "not supported (optional)", false});

  int mountapi = InChild([] {
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return 2;
    int fd = ::fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (fd < 0) return 1;
    int t = ::open_tree(AT_FDCWD, "/usr", OPEN_TREE_CLONE | AT_RECURSIVE);
    return t >= 0 ? 0 : 1;
  });
  items.push_back({"new mount API", mountapi == 0, mountapi == 0 ? "fsopen, open_tree, move_mount, mount_setattr" : "missing (kernel < 5.12?)", true});

  const bool overlay = KernelOverlayInUserNamespaces();
  const std::string fuse = FuseOverlayProblem();
  items.push_back({"overlayfs in user namespaces", overlay,
                   overlay ? "available (copy-on-write boxes use it)"
                   : fuse.empty() ? "not available: boxes use fuse-overlayfs instead (`airlock box create` chooses it)"
                                  : "not available, nor fuse-overlayfs (" + fuse + "): boxes cannot run here; install and enable "
                                    "fuse-overlayfs, or use a kernel that mounts overlayfs in user namespaces (Linux >= 5.11)",
                   false});
  items.push_back({"fuse-overlayfs", fuse.empty(),
                   fuse.empty() ? "usable (boxes made with --overlay fuse, or where the kernel lacks overlayfs in user namespaces)"
                                : fuse + (overlay ? " (optional: the kernel's overlayfs serves boxes here)" : ""),
                   false});
  if (root) items.push_back(ProbeIdmappedMounts());

  std::string actions = ReadLine("/proc/sys/kernel/seccomp/actions_avail");
  bool notif = actions.find("user_notif") != std::string::npos;
  bool killproc = actions.find("kill_process") != std::string::npos;
  items.push_back({"seccomp", killproc, actions.empty() ? "not available" : "actions: " + actions, true});
  items.push_back({"seccomp user notification", notif, notif ? "denials counted, behaviour monitor available" : "missing: no denial counting or monitor", false});

  int ll = LandlockAbiVersion();
  items.push_back({"landlock", ll > 0,
                   ll > 0 ? fmt::format("ABI {}{}{}", ll, ll >= 4 ? ", TCP rules" : "", ll >= 6 ? ", scopes" : "")
                          : "not available (enforced best-effort by default: reported, not refused)",
                   false});

  int pidfd = ::syscall(SYS_pidfd_open, ::getpid(), 0);
  items.push_back({"pidfd", pidfd >= 0, pidfd >= 0 ? "pidfd_open, CLONE_PIDFD" : "missing", true});
  if (pidfd >= 0) ::close(pidfd);
  long c3 = ::syscall(SYS_clone3, nullptr, 0);
  items.push_back({"clone3", errno != ENOSYS, c3 < 0 && errno == ENOSYS ? "missing" : "available", false});

  CgroupSupport cg = ProbeCgroupSupport();
  items.push_back({"cgroup v2", cg.v2_mounted, cg.v2_mounted ? cg.v2_path + " controllers: " + Join(cg.v2_controllers) : "not mounted", false});
  items.push_back({"cgroup v1", !cg.v1_controllers.empty(), "controllers: " + Join(cg.v1_controllers), false});
  items.push_back({"cgroup limits usable", HasMemoryAndPids(cg.writable), CgroupLimitsDetail(cg, root), false});

  std::string un = FindUserNetHelper();
  std::string tun = un.empty() ? "" : DiagnoseTunDevice();
  items.push_back({"user-mode network", !un.empty() && tun.empty(),
                   un.empty() ? "install slirp4netns or passt for --net user" : tun.empty() ? un : un + ": " + tun, false});
  int fan = ::fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY);
  items.push_back({"fanotify", fan >= 0, fan >= 0 ? "available" : fmt::format("unavailable: {}", strerror(errno)), false});
  if (fan >= 0) ::close(fan);
  return items;
}

nlohmann::json ProbeToJson(const std::vector<ProbeItem>& items) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& i : items) j.push_back({{"name", i.name}, {"ok", i.ok}, {"detail", i.detail}, {"required", i.needed_by_default}});
  return j;
}

}  // namespace airlock
