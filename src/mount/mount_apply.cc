// Child side of the mount plan (see mount_plan.h). Allocation-free: only syscalls and stack buffers.
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "caps/caps.h"
#include "core/unique_fd.h"
#include "kernel/syscalls.h"
#include "mount/mount_plan.h"
#include "process/child_error.h"

namespace airlock {
namespace {

constexpr const char* kNewRoot = "/tmp";

// Opens `path` (absolute, inside the new root) beneath root_fd without following any symlink.
int OpenInRoot(int root_fd, const char* path, int flags) {
  // RESOLVE_NO_XDEV is too strict once mounts exist beneath the root; drop it here.
  return kernel::Openat2(root_fd, path, static_cast<uint64_t>(flags) | O_CLOEXEC, 0,
                         RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

// Splits path into parent (copied into buf) and returns the leaf. path is absolute and clean.
const char* SplitParent(const char* path, char* buf, size_t cap) {
  size_t len = strnlen(path, cap - 1);
  memcpy(buf, path, len);
  buf[len] = '\0';
  char* slash = strrchr(buf, '/');
  if (slash == nullptr) return path;
  const char* leaf = path + (slash - buf) + 1;
  if (slash == buf) {
    buf[1] = '\0';
  } else {
    *slash = '\0';
  }
  return leaf;
}

// mkdir -p of an absolute path beneath root_fd, component by component with O_NOFOLLOW.
// Returns an O_PATH fd of the final directory or -errno.
int MkdirAllIn(int root_fd, const char* path, mode_t mode) {
  int cur = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0) return -errno;
  const char* p = path;
  char comp[256];
  while (*p != '\0') {
    while (*p == '/') ++p;
    if (*p == '\0') break;
    size_t n = 0;
    while (p[n] != '\0' && p[n] != '/') ++n;
    if (n >= sizeof comp) {
      ::close(cur);
      return -ENAMETOOLONG;
    }
    memcpy(comp, p, n);
    comp[n] = '\0';
    p += n;
    if (::mkdirat(cur, comp, mode) != 0 && errno != EEXIST) {
      int e = errno;
      ::close(cur);
      return -e;
    }
    int next = ::openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    ::close(cur);
    if (next < 0) return -e;
    cur = next;
  }
  return cur;
}

[[noreturn]] void Fail(int err_fd, const char* stage, const MountOp& op, int err) {
  ChildFail(err_fd, stage, op.dst.c_str(), err);
}

// A one-entry cache of the directory most recently used to create entries in (O_PATH fd), so a run
// of files, symlinks or mount points in the same directory (/dev/*, /etc/*) resolves it once.
struct DirCache {
  char path[4096] = {};
  int fd = -1;
  DirCache() = default;
  DirCache(const DirCache&) = delete;
  DirCache& operator=(const DirCache&) = delete;
  ~DirCache() {
    if (fd >= 0) ::close(fd);
  }
  // A mount at `dst` changes what `dst` and everything beneath it resolve to: forget it.
  void InvalidateAt(const char* dst) {
    if (fd < 0) return;
    size_t n = strlen(dst);
    if (strncmp(path, dst, n) == 0 && (path[n] == '\0' || path[n] == '/')) {
      ::close(fd);
      fd = -1;
    }
  }
};

// The directory `dir` (absolute, clean) beneath root_fd, created like mkdir -p without following
// symlinks. Returns a borrowed O_PATH fd (owned by the cache or root_fd) or -errno.
int DirFd(int root_fd, const char* dir, DirCache& cache) {
  if (dir[0] == '/' && dir[1] == '\0') return root_fd;
  if (cache.fd >= 0 && strcmp(cache.path, dir) == 0) return cache.fd;
  size_t len = strnlen(dir, sizeof cache.path);
  if (len >= sizeof cache.path) return -ENAMETOOLONG;
  int fd = MkdirAllIn(root_fd, dir, 0755);
  if (fd < 0) return fd;
  if (cache.fd >= 0) ::close(cache.fd);
  memcpy(cache.path, dir, len + 1);
  cache.fd = fd;
  return fd;
}

// Creates the mount point for op (a directory, or an empty file for file binds) and returns an fd
// of it (owned by the caller) or -errno.
int CreateMountPoint(int root_fd, const MountOp& op, bool is_dir, DirCache& cache) {
  char parent[4096];
  const char* leaf = SplitParent(op.dst.c_str(), parent, sizeof parent);
  int pfd = DirFd(root_fd, parent, cache);
  if (pfd < 0) return pfd;
  if (is_dir) {
    if (::mkdirat(pfd, leaf, 0755) != 0 && errno != EEXIST) return -errno;
    int fd = ::openat(pfd, leaf, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
  }
  int fd = ::openat(pfd, leaf, O_CREAT | O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  return fd < 0 ? -errno : fd;
}

void MountTmpfsAt(int err_fd, int root_fd, const MountOp& op, const char* fstype, DirCache& cache,
                  bool force_noexec = false) {
  int dfd = CreateMountPoint(root_fd, op, true, cache);
  if (dfd < 0) Fail(err_fd, "create mount point", op, -dfd);
  UniqueFd dst(dfd);
  UniqueFd fs(::fsopen(fstype, FSOPEN_CLOEXEC));
  if (!fs) Fail(err_fd, "fsopen", op, errno);
  // Parse "k=v,k2=v2,flag" into fsconfig calls without allocating.
  char opts[512];
  size_t len = strnlen(op.options.c_str(), sizeof opts - 1);
  memcpy(opts, op.options.c_str(), len);
  opts[len] = '\0';
  char* save = nullptr;
  for (char* tok = strtok_r(opts, ",", &save); tok != nullptr; tok = strtok_r(nullptr, ",", &save)) {
    char* eq = strchr(tok, '=');
    int rc;
    if (eq != nullptr) {
      *eq = '\0';
      rc = ::fsconfig(fs.get(), FSCONFIG_SET_STRING, tok, eq + 1, 0);
    } else {
      rc = ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, tok, nullptr, 0);
    }
    if (rc != 0) Fail(err_fd, "fsconfig", op, errno);
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) Fail(err_fd, "fsconfig create", op, errno);
  unsigned attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (op.noexec || force_noexec) attrs |= MOUNT_ATTR_NOEXEC;
  if (op.readonly) attrs |= MOUNT_ATTR_RDONLY;
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, attrs));
  if (!mnt) Fail(err_fd, "fsmount", op, errno);
  if (::move_mount(mnt.get(), "", dst.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    Fail(err_fd, "move_mount", op, errno);
  }
  cache.InvalidateAt(op.dst.c_str());
}

void VerifyFsType(int err_fd, int root_fd, const MountOp& op, long magic) {
  UniqueFd fd(OpenInRoot(root_fd, op.dst.c_str(), O_PATH | O_DIRECTORY));
  struct statfs sfs {};
  if (!fd || ::fstatfs(fd.get(), &sfs) != 0) Fail(err_fd, "verify mount", op, errno);
  if (sfs.f_type != magic) Fail(err_fd, "verify mount: unexpected filesystem type", op, EXDEV);
}

// `tree`: the detached clone of the bind source (OpenMountSourcesInChild).
void BindMount(int err_fd, int root_fd, const MountOp& op, int tree, DirCache& cache) {
  struct stat src_st {};
  if (::fstat(tree, &src_st) != 0) Fail(err_fd, "stat bind source", op, errno);
  if (S_ISLNK(src_st.st_mode)) Fail(err_fd, "bind source became a symlink", op, ELOOP);
  if (S_ISDIR(src_st.st_mode) != op.src_is_dir) Fail(err_fd, "bind source changed type", op, EXDEV);
  // An idmapped tree came from the parent with its flags (nosuid, nodev) set there.
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_NOSUID;
  if (!op.keep_dev) attr.attr_set |= MOUNT_ATTR_NODEV;
  if (op.readonly) attr.attr_set |= MOUNT_ATTR_RDONLY;
  if (!op.idmapped && ::mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
    Fail(err_fd, "mount_setattr", op, errno);
  }
  int d = CreateMountPoint(root_fd, op, op.src_is_dir, cache);
  if (d < 0) Fail(err_fd, "create bind destination", op, -d);
  UniqueFd dst(d);
  if (::move_mount(tree, "", dst.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    Fail(err_fd, "move_mount", op, errno);
  }
  cache.InvalidateAt(op.dst.c_str());
  // Verify: the destination, resolved afresh inside the new root, shows exactly the object we opened.
  UniqueFd check(OpenInRoot(root_fd, op.dst.c_str(), O_PATH));
  struct stat dst_st {};
  if (!check || ::fstat(check.get(), &dst_st) != 0) Fail(err_fd, "verify bind", op, errno);
  if (dst_st.st_dev != src_st.st_dev || dst_st.st_ino != src_st.st_ino) Fail(err_fd, "verify bind: wrong object", op, EXDEV);
}

// A detached tree the parent made (an idmapped lower or layer) attached at a staging point in the new
// root, so the overlay can name it; *path receives that point's absolute path. Detached afterwards
// by UnstageLayer: the overlay holds private clones of its layers.
void StageLayer(int err_fd, int root_fd, const MountOp& op, int tree_fd, const char* name, char* path, size_t cap) {
  if (::mkdirat(root_fd, name, 0700) != 0) Fail(err_fd, "overlay: stage layer", op, errno);
  if (::move_mount(tree_fd, "", root_fd, name, MOVE_MOUNT_F_EMPTY_PATH) != 0) Fail(err_fd, "overlay: attach idmapped layer", op, errno);
  snprintf(path, cap, "%s/%s", kNewRoot, name);
}

void UnstageLayer(int err_fd, int root_fd, const MountOp& op, const char* name) {
  char path[64];
  snprintf(path, sizeof path, "%s/%s", kNewRoot, name);
  if (::umount2(path, MNT_DETACH) != 0) Fail(err_fd, "overlay: detach staged layer", op, errno);
  if (::unlinkat(root_fd, name, AT_REMOVEDIR) != 0) Fail(err_fd, "overlay: remove staging point", op, errno);
}

// kOverlay: the kernel's overlayfs over the lower tree, upper and work in the layer directory, made
// in the sandbox's user namespace (userxattr; the mounter is the sandbox's user, so everything the
// overlay writes is owned by it, or through an idmapped layer by the host owner it stands for),
// nosuid and nodev. Layers are named through what was opened before the root changed
// (/proc/self/fd/N) or staged (detached idmapped trees), never by a host path looked up again.
void MountOverlay(int err_fd, int root_fd, const MountOp& op, int lower_fd, int layer_fd, bool staged, DirCache& cache) {
  char lower[64], layer[64], upper[80], work[80];
  if (staged) {
    StageLayer(err_fd, root_fd, op, lower_fd, ".airlock-lower", lower, sizeof lower);
    StageLayer(err_fd, root_fd, op, layer_fd, ".airlock-layer", layer, sizeof layer);
  } else {
    snprintf(lower, sizeof lower, "/proc/self/fd/%d", lower_fd);
    snprintf(layer, sizeof layer, "/proc/self/fd/%d", layer_fd);
  }
  snprintf(upper, sizeof upper, "%s/upper", layer);
  snprintf(work, sizeof work, "%s/work", layer);
  int dfd = CreateMountPoint(root_fd, op, true, cache);
  if (dfd < 0) Fail(err_fd, "create overlay destination", op, -dfd);
  UniqueFd dst(dfd);
  UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) Fail(err_fd, "fsopen overlay", op, errno);
  const char* const kv[][2] = {{"lowerdir", lower}, {"upperdir", upper}, {"workdir", work}};
  for (const auto& [k, v] : kv) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, k, v, 0) != 0) Fail(err_fd, "overlay: fsconfig layer", op, errno);
  }
  if (::fsconfig(fs.get(), FSCONFIG_SET_FLAG, "userxattr", nullptr, 0) != 0) Fail(err_fd, "overlay: userxattr", op, errno);
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) Fail(err_fd, "overlay: create (kernel log says why)", op, errno);
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  if (!mnt) Fail(err_fd, "overlay: fsmount", op, errno);
  if (::move_mount(mnt.get(), "", dst.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    Fail(err_fd, "overlay: move_mount", op, errno);
  }
  cache.InvalidateAt(op.dst.c_str());
  if (staged) {
    UnstageLayer(err_fd, root_fd, op, ".airlock-lower");
    UnstageLayer(err_fd, root_fd, op, ".airlock-layer");
  }
}

// fuse-overlayfs (mount_plan.h): it resolves its layers by path (realpath) when it starts, so they
// are attached for that moment at fixed points in the new root (kNewRoot), then detached once the
// daemon answers; its arguments are fixed, nothing is formatted for it here.
constexpr int kFuseDeviceFd = 3;
// writeback=0: every write reaches the upper layer when the payload makes it (a write-back cache
// would hold dirty pages that die with the daemon at the end of the run).
constexpr const char* kFuseOptions =
    "lowerdir=/tmp/.airlock-fuse-lower,upperdir=/tmp/.airlock-fuse-layer/upper,workdir=/tmp/.airlock-fuse-layer/work,"
    "writeback=0";
#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

// A detached clone of the tree at `fd`, nosuid, nodev, read-only when asked; -1 with errno on failure.
int DetachedClone(int fd, bool readonly) {
  UniqueFd tree(::open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE));
  if (!tree) return -1;
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0);
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) return -1;
  return tree.release();
}

// The daemon, between fork and execve: the FUSE connection at fd 3, /dev/null as stdio, nothing else;
// no capability, no_new_privs. Exits 127 on any failure (init then fails on the dead mount).
[[noreturn]] void ExecFuseOverlayInChild(const char* program, int device, const std::vector<sock_filter>& filter) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  const int dev = ::fcntl(device, F_DUPFD_CLOEXEC, 10);
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (dev < 0 || null_fd < 0) _exit(127);
  for (int i = 0; i < 3; ++i) {
    if (::dup2(null_fd, i) != i) _exit(127);
  }
  if (::dup2(dev, kFuseDeviceFd) != kFuseDeviceFd) _exit(127);
  ::close_range(kFuseDeviceFd + 1, ~0U, 0);
  if (::chdir("/") != 0) _exit(127);
  if (DropBoundingAndLockSecurebitsInChild() != 0 || ClearCapabilitiesInChild() != 0) _exit(127);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(127);
  struct sock_fprog prog {static_cast<unsigned short>(filter.size()), const_cast<sock_filter*>(filter.data())};
  if (filter.empty() || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) _exit(127);
  char* const argv[] = {const_cast<char*>("fuse-overlayfs"), const_cast<char*>("-f"), const_cast<char*>("-o"),
                        const_cast<char*>(kFuseOptions), const_cast<char*>("/dev/fd/3"), nullptr};
  char* const envp[] = {nullptr};
  ::execve(program, argv, envp);
  _exit(127);
}

// kOverlay with fuse set (mount_plan.h): a FUSE mount at the destination served by fuse-overlayfs,
// which init forks here; verified (the daemon answers statfs only once it holds its layers), then
// the layers' staging points are detached. `staged`: lower_fd and layer_fd are detached idmapped
// trees already.
void MountFuseOverlay(int err_fd, int root_fd, const MountOp& op, int lower_fd, int layer_fd, bool staged,
                      const MountPlan& plan, DirCache& cache) {
  UniqueFd lower(staged ? ::fcntl(lower_fd, F_DUPFD_CLOEXEC, 3) : DetachedClone(lower_fd, true));
  if (!lower) Fail(err_fd, "fuse-overlayfs: clone the lower tree", op, errno);
  UniqueFd layer(staged ? ::fcntl(layer_fd, F_DUPFD_CLOEXEC, 3) : DetachedClone(layer_fd, false));
  if (!layer) Fail(err_fd, "fuse-overlayfs: clone the layer", op, errno);
  UniqueFd device(::open("/dev/fuse", O_RDWR | O_CLOEXEC));
  if (!device) Fail(err_fd, "fuse-overlayfs: open /dev/fuse (as root: chmod 0666 /dev/fuse, Debian's default)", op, errno);
  char lower_path[64], layer_path[64];
  StageLayer(err_fd, root_fd, op, lower.get(), ".airlock-fuse-lower", lower_path, sizeof lower_path);
  StageLayer(err_fd, root_fd, op, layer.get(), ".airlock-fuse-layer", layer_path, sizeof layer_path);
  int dfd = CreateMountPoint(root_fd, op, true, cache);
  if (dfd < 0) Fail(err_fd, "create overlay destination", op, -dfd);
  UniqueFd dst(dfd);
  UniqueFd fs(::fsopen("fuse", FSOPEN_CLOEXEC));
  if (!fs) Fail(err_fd, "fsopen fuse", op, errno);
  char fd_text[16], uid_text[16], gid_text[16];
  snprintf(fd_text, sizeof fd_text, "%d", device.get());
  snprintf(uid_text, sizeof uid_text, "%u", static_cast<unsigned>(::getuid()));
  snprintf(gid_text, sizeof gid_text, "%u", static_cast<unsigned>(::getgid()));
  const char* const kv[][2] = {{"source", "airlock-box"}, {"subtype", "fuse-overlayfs"}, {"fd", fd_text},
                               {"rootmode", "40000"},    {"user_id", uid_text},         {"group_id", gid_text}};
  for (const auto& [k, v] : kv) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, k, v, 0) != 0) Fail(err_fd, "fuse-overlayfs: fsconfig", op, errno);
  }
  if (::fsconfig(fs.get(), FSCONFIG_SET_FLAG, "default_permissions", nullptr, 0) != 0) Fail(err_fd, "fuse-overlayfs: fsconfig", op, errno);
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) Fail(err_fd, "fuse-overlayfs: create", op, errno);
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  if (!mnt) Fail(err_fd, "fuse-overlayfs: fsmount", op, errno);
  if (::move_mount(mnt.get(), "", dst.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    Fail(err_fd, "fuse-overlayfs: move_mount", op, errno);
  }
  cache.InvalidateAt(op.dst.c_str());
  const pid_t pid = ::fork();
  if (pid < 0) Fail(err_fd, "fuse-overlayfs: fork", op, errno);
  if (pid == 0) ExecFuseOverlayInChild(plan.fuse_overlayfs.c_str(), device.get(), plan.fuse_seccomp);
  // Init keeps no end of the connection: when the daemon dies, the mount fails (ENOTCONN), never hangs.
  device.reset();
  VerifyFsType(err_fd, root_fd, op, FUSE_SUPER_MAGIC);
  UnstageLayer(err_fd, root_fd, op, ".airlock-fuse-lower");
  UnstageLayer(err_fd, root_fd, op, ".airlock-fuse-layer");
}

void MakeSymlink(int err_fd, int root_fd, const MountOp& op, DirCache& cache) {
  char parent[4096];
  const char* leaf = SplitParent(op.dst.c_str(), parent, sizeof parent);
  int pfd = DirFd(root_fd, parent, cache);
  if (pfd < 0) Fail(err_fd, "create symlink parent", op, -pfd);
  if (::symlinkat(op.src.c_str(), pfd, leaf) != 0 && errno != EEXIST) Fail(err_fd, "symlink", op, errno);
}

// A file with generated or snapshotted content (op.src) in the root tmpfs.
void MakeFile(int err_fd, int root_fd, const MountOp& op, DirCache& cache) {
  char parent[4096];
  const char* leaf = SplitParent(op.dst.c_str(), parent, sizeof parent);
  int pfd = DirFd(root_fd, parent, cache);
  if (pfd < 0) Fail(err_fd, "create file parent", op, -pfd);
  UniqueFd f(::openat(pfd, leaf, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, op.mode));
  if (!f) Fail(err_fd, "create file", op, errno);
  const char* data = op.src.c_str();
  size_t left = op.src.size();
  while (left > 0) {
    ssize_t n = ::write(f.get(), data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail(err_fd, "write file", op, errno);
    data += n;
    left -= static_cast<size_t>(n);
  }
}

// Read-only overmounts inside /proc (as container runtimes do): sysctls and kernel knobs.
void HardenProc(int err_fd, int root_fd, const MountOp& op) {
  static const char* const kReadOnly[] = {"proc/sys", "proc/sysrq-trigger", "proc/irq", "proc/bus", "proc/fs"};
  for (const char* rel : kReadOnly) {
    int tfd = ::open_tree(root_fd, rel, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
    if (tfd < 0) {
      if (errno == ENOENT) continue;
      Fail(err_fd, "open_tree /proc entry", op, errno);
    }
    UniqueFd tree(tfd);
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
      Fail(err_fd, "mount_setattr /proc entry", op, errno);
    }
    if (::move_mount(tree.get(), "", root_fd, rel, MOVE_MOUNT_F_EMPTY_PATH) != 0) Fail(err_fd, "move_mount /proc entry", op, errno);
  }
}

// Sysctls (plan.proc_sys_writes) through sys_fd, the "sys" directory of a proc mount of the sandbox's
// pid namespace opened by init: the kernel writes them into init's user namespace. A knob this kernel
// lacks is skipped.
void WriteProcSysInChild(int err_fd, int sys_fd, const MountPlan& plan) {
  for (const ProcSysWrite& w : plan.proc_sys_writes) {
    int fd = ::openat(sys_fd, w.path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      ChildFail(err_fd, "open sysctl", w.path.c_str(), errno);
    }
    ssize_t n = ::write(fd, w.value.data(), w.value.size());
    int e = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(w.value.size())) ChildFail(err_fd, "write sysctl", w.path.c_str(), n < 0 ? e : EIO);
  }
}

// A plan without /proc: the sysctls go through a private proc instance that is never attached. When
// the kernel refuses one (EPERM: the host's pid namespace is shared, namespaces.pid = false), the
// host's /proc, still reachable before pivot_root, serves: the per-user knobs are looked up in the
// opener's user namespace whatever the proc instance (kernel/ucount.c set_lookup), so the writes
// still land in the sandbox's own namespace.
void WriteProcSysPrivatelyInChild(int err_fd, const MountPlan& plan) {
  UniqueFd fs(::fsopen("proc", FSOPEN_CLOEXEC));
  if (!fs) ChildFail(err_fd, "fsopen", "proc (sysctls)", errno);
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    if (errno != EPERM) ChildFail(err_fd, "fsconfig create", "proc (sysctls)", errno);
    UniqueFd host_sys(::open("/proc/sys", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!host_sys) ChildFail(err_fd, "open", "/proc/sys (sysctls, shared pid namespace)", errno);
    WriteProcSysInChild(err_fd, host_sys.get(), plan);
    return;
  }
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  if (!mnt) ChildFail(err_fd, "fsmount", "proc (sysctls)", errno);
  UniqueFd sys(::openat(mnt.get(), "sys", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sys) ChildFail(err_fd, "open", "proc/sys (sysctls)", errno);
  WriteProcSysInChild(err_fd, sys.get(), plan);
}

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx\n" (a random version-4 UUID, as the kernel's boot_id) in out[37].
bool RandomUuidInChild(char* out) {
  unsigned char b[16];
  if (::getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) return false;
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static const char kHex[] = "0123456789abcdef";
  size_t p = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[p++] = '-';
    out[p++] = kHex[b[i] >> 4];
    out[p++] = kHex[b[i] & 0xf];
  }
  out[p] = '\n';
  return true;
}

struct MaskTarget {
  int fd = -1;  // O_PATH of the entry inside the new root
  bool dir = false;
  bool boot_id = false;
};

// Opens the entries of plan.masked that exist and that the sandbox could read. Returns how many.
size_t OpenMaskTargets(int err_fd, int root_fd, const MountPlan& plan, MaskTarget* out, size_t cap) {
  size_t n = 0;
  for (const std::string& path : plan.masked) {
    if (n == cap) ChildFail(err_fd, "mask host facts: too many entries", path.c_str(), E2BIG);
    int fd = OpenInRoot(root_fd, path.c_str(), O_PATH);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      ChildFail(err_fd, "mask host facts: open", path.c_str(), errno);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) ChildFail(err_fd, "mask host facts: stat", path.c_str(), errno);
    // Neither group nor others may read it: only its owner, host root (the sandbox never is). Left alone.
    const bool masked = S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && (st.st_mode & 0044) != 0);
    if (!masked) {
      ::close(fd);
      continue;
    }
    out[n++] = {fd, S_ISDIR(st.st_mode), strcmp(path.c_str(), kMaskedBootId) == 0};
  }
  return n;
}

// The masks' tmpfs, with an empty file "e" and the sandbox's boot id "b", attached over host->fd.
int AttachMaskTmpfsInChild(int err_fd, const MaskTarget& host) {
  UniqueFd fs(::fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!fs) ChildFail(err_fd, "fsopen", "tmpfs (masks)", errno);
  if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "mode", "0555", 0) != 0 ||
      ::fsconfig(fs.get(), FSCONFIG_SET_STRING, "size", "16k", 0) != 0 ||
      ::fsconfig(fs.get(), FSCONFIG_SET_STRING, "nr_inodes", "4", 0) != 0 ||
      ::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    ChildFail(err_fd, "fsconfig", "tmpfs (masks)", errno);
  }
  int mnt = ::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (mnt < 0) ChildFail(err_fd, "fsmount", "tmpfs (masks)", errno);
  char id[37];
  if (!RandomUuidInChild(id)) ChildFail(err_fd, "getrandom", "boot_id", errno);
  struct File {
    const char* name;
    const char* data;
    size_t len;
  } files[] = {{"e", "", 0}, {"b", id, sizeof id}};
  for (const File& f : files) {
    UniqueFd fd(::openat(mnt, f.name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444));
    if (!fd || ::write(fd.get(), f.data, f.len) != static_cast<ssize_t>(f.len)) ChildFail(err_fd, "create mask file", f.name, errno);
  }
  if (::move_mount(mnt, "", host.fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    ChildFail(err_fd, "move_mount", "tmpfs (masks)", errno);
  }
  return mnt;
}

void SetMaskReadOnly(int err_fd, int mnt, bool ro) {
  struct mount_attr attr {};
  (ro ? attr.attr_set : attr.attr_clr) = MOUNT_ATTR_RDONLY;
  if (::mount_setattr(mnt, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) ChildFail(err_fd, "mount_setattr", "tmpfs (masks)", errno);
}

void CoverWithCloneInChild(int err_fd, int mnt, const char* name, const MaskTarget& t) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (name[0] == '\0' ? AT_EMPTY_PATH : 0);
  UniqueFd clone(::open_tree(mnt, name, flags));
  if (!clone) ChildFail(err_fd, "open_tree", "mask", errno);
  if (::move_mount(clone.get(), "", t.fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    ChildFail(err_fd, "move_mount", "mask", errno);
  }
}

// Covers the host facts (mount_plan.h). The first directory hosts a read-only tmpfs holding an empty
// file and the boot id; each file is covered by a clone of one of them (clones inherit read-only);
// the two files are then unlinked (the clones keep them) and every other directory gets a clone of
// the empty tmpfs.
void MaskHostFactsInChild(int err_fd, int root_fd, const MountPlan& plan) {
  MaskTarget t[64];
  const size_t n = OpenMaskTargets(err_fd, root_fd, plan, t, 64);
  size_t host = n;
  for (size_t i = 0; i < n && host == n; ++i)
    if (t[i].dir) host = i;
  if (host == n) {
    if (n != 0) ChildFail(err_fd, "mask host facts", "no directory to hold the masks", ENOENT);
    return;
  }
  UniqueFd mnt(AttachMaskTmpfsInChild(err_fd, t[host]));
  SetMaskReadOnly(err_fd, mnt.get(), true);
  for (size_t i = 0; i < n; ++i)
    if (!t[i].dir) CoverWithCloneInChild(err_fd, mnt.get(), t[i].boot_id ? "b" : "e", t[i]);
  SetMaskReadOnly(err_fd, mnt.get(), false);
  if (::unlinkat(mnt.get(), "e", 0) != 0 || ::unlinkat(mnt.get(), "b", 0) != 0) ChildFail(err_fd, "unlink", "mask files", errno);
  SetMaskReadOnly(err_fd, mnt.get(), true);
  for (size_t i = 0; i < n; ++i)
    if (t[i].dir && i != host) CoverWithCloneInChild(err_fd, mnt.get(), "", t[i]);
  for (size_t i = 0; i < n; ++i) ::close(t[i].fd);
}

}  // namespace

namespace {
int OpenDirectoryNoSymlinksInChild(int err_fd, const char* path) {
  int fd = kernel::Openat2(AT_FDCWD, path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0,
                           RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) ChildFail(err_fd, "open overlay layer", path, errno);
  return fd;
}
}  // namespace

void OpenMountSourcesInChild(const MountPlan& plan, int err_fd) {
  // Open every bind source once, with the caller's own host credentials and before anything is
  // mounted over the host tree: what is opened here is exactly what gets mounted.
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const MountOp& op = plan.ops[i];
    if (op.kind == MountOp::Kind::kOverlay && !plan.staged_layers) {
      plan.src_fds[i] = OpenDirectoryNoSymlinksInChild(err_fd, op.src.c_str());
      plan.layer_fds[i] = OpenDirectoryNoSymlinksInChild(err_fd, op.layer.c_str());
    }
    if (op.kind != MountOp::Kind::kBind || op.idmapped) continue;  // idmapped: the parent's tree is in src_fds
    // op.src has no symlink left but (possibly) its last component (mount_plan.cc ResolveBindSource):
    // one swapped in since is refused (ELOOP), never followed.
    int fd = kernel::Openat2(AT_FDCWD, op.src.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0,
                             RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (fd < 0) ChildFail(err_fd, "open bind source", op.src.c_str(), errno);
    // Cloned now, before the new root's tmpfs is mounted at kNewRoot: a source at or above it (/tmp,
    // /) must show the host's tree, not the new root mounted over part of it (AT_RECURSIVE).
    int tree = ::open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
    if (tree < 0) ChildFail(err_fd, "open_tree", op.src.c_str(), errno);
    ::close(fd);
    plan.src_fds[i] = tree;
  }
}

void ApplyMountPlanInChild(const MountPlan& plan, int err_fd) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ChildFail(err_fd, "make / private", "/", errno);

  // 2. The new root: a fresh tmpfs, reached only through root_fd from now on.
  if (::mount("airlock", kNewRoot, "tmpfs", MS_NOSUID | MS_NODEV, plan.root_options.c_str()) != 0) {
    ChildFail(err_fd, "mount root tmpfs", kNewRoot, errno);
  }
  UniqueFd root(::open(kNewRoot, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) ChildFail(err_fd, "open new root", kNewRoot, errno);
  int root_fd = root.get();
  DirCache cache;
  UniqueFd proc_sys;

  // 3. Each op in order.
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const MountOp& op = plan.ops[i];
    switch (op.kind) {
      case MountOp::Kind::kBind:
        BindMount(err_fd, root_fd, op, plan.src_fds[i], cache);
        ::close(plan.src_fds[i]);
        plan.src_fds[i] = -1;
        break;
      case MountOp::Kind::kTmpfs:
        MountTmpfsAt(err_fd, root_fd, op, "tmpfs", cache);
        VerifyFsType(err_fd, root_fd, op, TMPFS_MAGIC);
        break;
      case MountOp::Kind::kProc: {
        MountTmpfsAt(err_fd, root_fd, op, "proc", cache, true);
        VerifyFsType(err_fd, root_fd, op, PROC_SUPER_MAGIC);
        // Kept from before /proc/sys is made read-only (an overmount, the original stays writable):
        // the sysctls are written last, once no mount operation needs a namespace of its own.
        UniqueFd proc(OpenInRoot(root_fd, op.dst.c_str(), O_PATH | O_DIRECTORY));
        if (proc) proc_sys.reset(::openat(proc.get(), "sys", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!proc_sys) Fail(err_fd, "open proc/sys", op, errno);
        HardenProc(err_fd, root_fd, op);
        cache.InvalidateAt(op.dst.c_str());
        break;
      }
      case MountOp::Kind::kDevpts:
        MountTmpfsAt(err_fd, root_fd, op, "devpts", cache);
        VerifyFsType(err_fd, root_fd, op, DEVPTS_SUPER_MAGIC);
        break;
      case MountOp::Kind::kDir: {
        int d = MkdirAllIn(root_fd, op.dst.c_str(), op.mode);
        if (d < 0) Fail(err_fd, "mkdir", op, -d);
        ::close(d);
        break;
      }
      case MountOp::Kind::kSymlink:
        MakeSymlink(err_fd, root_fd, op, cache);
        break;
      case MountOp::Kind::kFile:
        MakeFile(err_fd, root_fd, op, cache);
        break;
      case MountOp::Kind::kOverlay: {
        const bool staged = plan.src_fds[i] >= 0 && plan.staged_layers;
        if (op.fuse) {
          MountFuseOverlay(err_fd, root_fd, op, plan.src_fds[i], plan.layer_fds[i], staged, plan, cache);
        } else {
          MountOverlay(err_fd, root_fd, op, plan.src_fds[i], plan.layer_fds[i], staged, cache);
          VerifyFsType(err_fd, root_fd, op, OVERLAYFS_SUPER_MAGIC);
        }
        ::close(plan.src_fds[i]);
        ::close(plan.layer_fds[i]);
        plan.src_fds[i] = plan.layer_fds[i] = -1;
        break;
      }
    }
  }

  MaskHostFactsInChild(err_fd, root_fd, plan);
  // Last: the counters include mount namespaces, and every detached mount (open_tree, fsmount) above
  // took one.
  if (proc_sys) {
    WriteProcSysInChild(err_fd, proc_sys.get(), plan);
  } else if (!plan.proc_sys_writes.empty()) {
    WriteProcSysPrivatelyInChild(err_fd, plan);
  }

  // 4. The root itself becomes read-only; then pivot into it and detach the host tree.
  struct mount_attr ro {};
  ro.attr_set = MOUNT_ATTR_RDONLY;
  if (::mount_setattr(root_fd, "", AT_EMPTY_PATH, &ro, sizeof ro) != 0) ChildFail(err_fd, "remount root read-only", "/", errno);
  if (::fchdir(root_fd) != 0) ChildFail(err_fd, "chdir new root", "/", errno);
  if (kernel::PivotRoot(".", ".") != 0) ChildFail(err_fd, "pivot_root", "/", errno);
  if (::umount2(".", MNT_DETACH) != 0) ChildFail(err_fd, "detach old root", "/", errno);
  if (::chdir("/") != 0) ChildFail(err_fd, "chdir /", "/", errno);
}

}  // namespace airlock
