// StageIdmappedLayersFromParent (mount_plan.h): the overlay layers of a root caller's sandbox as
// detached idmapped trees, made on the parent side (idmapping a host filesystem needs CAP_SYS_ADMIN
// in the initial user namespace, which the sandbox never has).
#include <fcntl.h>
#include <sys/mount.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

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

}  // namespace

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
