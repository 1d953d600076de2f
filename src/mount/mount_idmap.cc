// StageIdmappedLayersFromParent and StageIdmappedBindsFromParent (mount_plan.h): the overlay layers
// and the read-write binds of a root caller's sandbox as detached idmapped trees, made on the parent
// side (idmapping a host filesystem needs CAP_SYS_ADMIN in the initial user namespace, which the
// sandbox never has).
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include "kernel/syscalls.h"
#include "mount/mount_plan.h"
#include "userns/userns.h"

namespace airlock {
namespace {

// `path` (a resolved directory, no symlink followed) as a detached tree idmapped with `userns`
// (read-only for a lower tree: the overlay never writes there).
Result<UniqueFd> IdmappedTree(const std::string& path, int userns, const std::string& origin, bool readonly) {
  UniqueFd dir(kernel::Openat2(AT_FDCWD, path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0,
                               RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS));
  if (!dir) return ErrnoError(fmt::format("{}: open {}", origin, path));
  UniqueFd tree(::open_tree(dir.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (!tree) return ErrnoError(fmt::format("{}: open_tree {}", origin, path));
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (readonly ? MOUNT_ATTR_RDONLY : 0);
  attr.userns_fd = static_cast<uint64_t>(userns);
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
    int e = errno;
    return std::unexpected(Error(fmt::format("{}: {} cannot be idmapped ({}): as root, an overlay needs its lower tree and its "
                                             "layer on a filesystem with idmapped mounts (ext4, xfs, btrfs, tmpfs on Linux >= 6.3)",
                                             origin, path, std::strerror(e)), e));
  }
  return tree;
}

// A few filesystem names for the error message (statfs f_type).
std::string FilesystemName(int fd) {
  struct statfs sfs {};
  if (::fstatfs(fd, &sfs) != 0) return "unknown";
  static const std::pair<long, const char*> kNames[] = {
      {EXT4_SUPER_MAGIC, "ext4"}, {XFS_SUPER_MAGIC, "xfs"}, {BTRFS_SUPER_MAGIC, "btrfs"}, {TMPFS_MAGIC, "tmpfs"},
      {NFS_SUPER_MAGIC, "nfs"}, {OVERLAYFS_SUPER_MAGIC, "overlayfs"}, {0x65735546, "fuse"}, {SMB2_SUPER_MAGIC, "smb"},
      {V9FS_MAGIC, "9p"}, {PROC_SUPER_MAGIC, "proc"}, {SYSFS_MAGIC, "sysfs"}, {RAMFS_MAGIC, "ramfs"},
      {CGROUP2_SUPER_MAGIC, "cgroup2"}};
  for (const auto& [magic, name] : kNames)
    if (static_cast<long>(sfs.f_type) == magic) return name;
  return fmt::format("type {:#x}", static_cast<unsigned long>(sfs.f_type));
}

// The read-write bind `op` as a detached, recursive clone of its source, idmapped with `userns`,
// nosuid and nodev.
Result<UniqueFd> IdmappedBindTree(const MountOp& op, int userns, const IdMapping& ids) {
  const std::string where = op.origin.empty() ? "bind" : op.origin;
  UniqueFd src(kernel::Openat2(AT_FDCWD, op.src.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC, 0,
                               RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS));
  if (!src) return ErrnoError(fmt::format("{}: open bind source {}", where, op.src));
  UniqueFd tree(::open_tree(src.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE));
  if (!tree) return ErrnoError(fmt::format("{}: open_tree {}", where, op.src));
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  attr.userns_fd = static_cast<uint64_t>(userns);
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
    const int e = errno;
    return std::unexpected(Error(
        fmt::format("{}: {} is owned by {} and, as root, the sandbox writes as uid {}: airlock makes such a read-write "
                    "bind an idmapped mount, which this filesystem ({}) or a mount beneath it refuses ({}). Make the "
                    "directory the sandbox's (chown {}:{} {}), bind it read-only (--ro-bind), move it to ext4, xfs, "
                    "btrfs or tmpfs, or run airlock as an ordinary user who owns it",
                    where, op.src, op.idmap_owner, ids.outside_uid, FilesystemName(src.get()), std::strerror(e),
                    ids.outside_uid, ids.outside_gid, op.src),
        e));
  }
  return tree;
}

}  // namespace

BindIdmap DecideBindIdmap(const struct stat& st, const IdMapping& ids) {
  if (!ids.caller_is_root || st.st_uid == ids.outside_uid) return BindIdmap::kNone;
  if (S_ISDIR(st.st_mode) && (st.st_mode & (S_ISVTX | S_IWOTH)) == (S_ISVTX | S_IWOTH)) return BindIdmap::kSharedSticky;
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) return BindIdmap::kNone;  // sockets, fifos: nothing to own
  return BindIdmap::kIdmapped;
}

std::vector<BindIdmap> PlanBindIdmaps(const Policy& policy, const IdMapping& ids) {
  std::vector<BindIdmap> out;
  for (const MountEntry& m : policy.mounts) {
    struct stat st {};
    const bool rw_bind = m.kind == MountEntry::Kind::kBind;
    out.push_back(rw_bind && ::lstat(m.src.c_str(), &st) == 0 && !S_ISLNK(st.st_mode) ? DecideBindIdmap(st, ids)
                                                                                     : BindIdmap::kNone);
  }
  return out;
}

std::string DescribeBindIdmap(BindIdmap decision, const std::string& src) {
  struct stat st {};
  const bool known = ::lstat(src.c_str(), &st) == 0;
  switch (decision) {
    case BindIdmap::kNone: return "";
    case BindIdmap::kSharedSticky:
      return "not idmapped: a shared sticky directory, written as the sandbox's own host user";
    case BindIdmap::kIdmapped:
      return known ? fmt::format("idmapped: the host owner {}:{} is the sandbox's user; what it creates is owned by {}:{} "
                                 "on the host (no setuid/setgid bits, no xattrs: docs/SECURITY.md)",
                                 st.st_uid, st.st_gid, st.st_uid, st.st_gid)
                   : "idmapped: the host owner is the sandbox's user";
  }
  return "";
}

Result<size_t> StageIdmappedBindsFromParent(MountPlan& plan, const IdMapping& ids) {
  if (!ids.caller_is_root) return 0;
  std::map<std::pair<uid_t, gid_t>, UniqueFd> namespaces;  // one per host owner
  size_t staged = 0;
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    MountOp& op = plan.ops[i];
    if (op.kind != MountOp::Kind::kBind || op.readonly || op.keep_dev) continue;
    struct stat st {};
    if (::lstat(op.src.c_str(), &st) != 0) return ErrnoError(fmt::format("{}: bind source {}", op.origin, op.src));
    if (DecideBindIdmap(st, ids) != BindIdmap::kIdmapped) continue;
    op.idmap_owner = fmt::format("uid {} gid {}", st.st_uid, st.st_gid);
    auto& ns = namespaces[{st.st_uid, st.st_gid}];
    if (!ns) {
      IdMapping owner_is_sandbox = ids;
      owner_is_sandbox.inside_uid = st.st_uid;
      owner_is_sandbox.inside_gid = st.st_gid;
      auto made = MakeIdmapNamespaceFromParent(owner_is_sandbox);
      if (!made) return std::unexpected(std::move(made.error()).WithContext(op.origin));
      ns = std::move(*made);
    }
    auto tree = IdmappedBindTree(op, ns.get(), ids);
    if (!tree) return std::unexpected(tree.error());
    // The tree must be what the plan resolved (a swap since would show as another object).
    struct stat tree_st {};
    if (::fstat(tree->get(), &tree_st) != 0 || tree_st.st_dev != st.st_dev || tree_st.st_ino != st.st_ino) {
      return MakeError(fmt::format("{}: bind source {} changed while the sandbox was prepared", op.origin, op.src), EXDEV);
    }
    op.idmapped = true;
    plan.src_fds[i] = tree->get();
    plan.staged_trees.push_back(std::move(*tree));
    ++staged;
  }
  return staged;
}

Status StageIdmappedLayersFromParent(MountPlan& plan, const IdMapping& ids) {
  const bool any = std::any_of(plan.ops.begin(), plan.ops.end(), [](const MountOp& op) { return op.kind == MountOp::Kind::kOverlay; });
  if (!ids.caller_is_root || !any) return Ok();
  IdMapping host_root_is_sandbox = ids;
  host_root_is_sandbox.inside_uid = 0;
  host_root_is_sandbox.inside_gid = 0;
  auto userns = MakeIdmapNamespaceFromParent(host_root_is_sandbox);
  if (!userns) return std::unexpected(userns.error());
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const MountOp& op = plan.ops[i];
    if (op.kind != MountOp::Kind::kOverlay) continue;
    auto lower = IdmappedTree(op.src, userns->get(), op.origin.empty() ? "overlay" : op.origin, true);
    if (!lower) return std::unexpected(lower.error());
    auto layer = IdmappedTree(op.layer, userns->get(), op.origin.empty() ? "overlay" : op.origin, false);
    if (!layer) return std::unexpected(layer.error());
    plan.src_fds[i] = lower->get();
    plan.layer_fds[i] = layer->get();
    plan.staged_trees.push_back(std::move(*lower));
    plan.staged_trees.push_back(std::move(*layer));
  }
  plan.staged_layers = true;
  return Ok();
}

}  // namespace airlock
