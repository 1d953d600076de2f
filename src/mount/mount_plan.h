// The filesystem of the sandbox, built from nothing.
//
// Parent side (BuildMountPlan): turns the policy into an ordered list of MountOps with every string
// preformatted, resolves each bind source component by component (a symlink on the way is followed
// only if the caller or root owns it; the resolved path, with no symlink but perhaps its last
// component, is the op's src), checks optional sources, turns symlink sources into symlink ops, and
// adds the skeleton: tmpfs root, /proc, minimal /dev, private /tmp and $HOME, generated /etc/passwd,
// group, hosts.
//
// Child side (ApplyMountPlanInChild, mount_apply.cc): runs in the new user+mount namespace with
// CAP_SYS_ADMIN there. It first opens every bind source with openat2(O_PATH|O_NOFOLLOW,
// RESOLVE_NO_SYMLINKS) (a symlink swapped in since the plan fails the run; one open per source,
// then only fd-relative operations: what was opened is what gets mounted), mounts a tmpfs as the new
// root, creates each destination with fd-relative mkdirat/openat2(RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS),
// attaches detached clones with the new mount API (open_tree / mount_setattr / move_mount), verifies
// each mount (device+inode of binds, filesystem magic of tmpfs), remounts the root read-only and
// pivot_roots into it, detaching the old root. Allocation-free; failures go to ChildFail().
//
// Host facts: once every op is applied, the entries of HostFactMasks() that exist inside and that the
// sandbox could read are covered: a file by an empty read-only file, a directory by an empty
// read-only tmpfs, /proc/sys/kernel/random/boot_id by a random id of the sandbox's own (made in the
// child). Entries only host root can read (no group or other read bit: the sandbox never runs as host
// root) are left as they are. What a sandbox can still learn about its host: docs/SECURITY.md.
//
// fuse-overlayfs (MountOp::fuse, a box made with the fuse driver, docs/BOXES.md): where the kernel has
// no overlayfs in user namespaces. The child (init, before pivot_root) opens /dev/fuse as the sandbox
// user, mounts a FUSE filesystem on the destination (fd=, user_id/group_id = its own ids,
// default_permissions: the kernel checks modes as for any filesystem; nosuid, nodev; no allow_other)
// and forks the daemon, exec'd as `fuse-overlayfs -f -o lowerdir=...,writeback=0 /dev/fd/3`: the
// FUSE connection is its fd 3, /dev/null its stdio, nothing else is inherited. It resolves its layers
// by path when it starts, so the lower tree (a clone, read-only) and the layer directory (a clone) are
// attached at fixed points of the new root until it answers the verification (statfs), then detached:
// from then on it holds them only as descriptors of detached mounts (".." from their roots leads
// nowhere, so no host path beyond them is reachable through them). It runs as the sandbox user with no
// capability (bounding set dropped, securebits locked, no_new_privs), an empty environment, cwd and
// root "/" (pivot_root moves both into the sandbox's root, so after setup it sees only the sandbox's
// tree and its layers), and dies with init (parent-death signal and the pid namespace). It is a process of the sandbox's pid namespace, of the sandbox's uid: the payload can
// see it, signal it (its own view then fails with ENOTCONN) and, being the same uid, open its
// descriptors through /proc (the lower tree is read-only; the layer is the box's own). No seccomp
// filter or Landlock ruleset applies to it. The mount is verified (FUSE_SUPER_MAGIC) through the
// daemon, so a daemon that failed to start fails the run.
//
// Sysctls (proc_sys_writes, e.g. the per-user-namespace counters of ucount/ucount.h) are written last,
// after the masks (every detached mount counts as a mount namespace against those counters), through
// the sandbox's fresh /proc/sys opened before it was made read-only; a plan without /proc writes them
// through a private proc instance that is never attached.
#pragma once

#include <linux/filter.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"
#include "policy/policy.h"
#include "userns/userns.h"

namespace airlock {

struct MountOp {
  enum class Kind { kBind, kTmpfs, kProc, kDevpts, kDir, kSymlink, kFile, kOverlay };
  Kind kind = Kind::kDir;
  std::string src;      // host path for binds, link target for symlinks, content for files
  std::string dst;      // absolute path inside the sandbox
  std::string options;  // tmpfs/devpts options ("size=64m,mode=1777,uid=1000,gid=1000")
  bool readonly = false;
  bool keep_dev = false;     // dev-bind: no MS_NODEV
  bool noexec = false;
  bool src_is_dir = true;    // binds: directory or file (the destination is created to match)
  mode_t mode = 0755;        // dirs/files created for this op
  std::string origin;        // where the entry came from, for messages
  std::string layer;         // kOverlay: host directory with upper/ and work/ (src is the lower tree)
  bool fuse = false;         // kOverlay: fuse-overlayfs instead of the kernel's overlayfs (below)
  // kBind, read-write: a detached idmapped tree made by the parent (StageIdmappedBindsFromParent) is in
  // src_fds; the child attaches it as it is. idmap_owner names the host owner the sandbox stands for.
  bool idmapped = false;
  std::string idmap_owner;   // "uid 0 gid 0", for messages and the report
};

// A sysctl written in the child: path relative to /proc/sys ("user/max_inotify_instances").
struct ProcSysWrite {
  std::string path;
  std::string value;
};

// The bounds of one tmpfs of the sandbox (its size= and nr_inodes= options), for the run report.
struct TmpfsBound {
  std::string dst;       // "/", "/dev", "/dev/shm", "/tmp", the home directory, a [[mount]] tmpfs
  uint64_t size_bytes = 0;
  uint64_t inodes = 0;
  bool writable = true;  // false: the root, remounted read-only after setup

  bool operator==(const TmpfsBound&) const = default;
};

// Every tmpfs gets both a size and an inode limit: the root skeleton (16 MiB, 16384 inodes, read-only
// once set up) and /dev (64 KiB, 256 inodes) fixed; /tmp, /dev/shm, home and [[mount]] tmpfs from the
// policy (tmp_size, shm_size, home_size, a mount's own size or else tmp_size; tmpfs_inodes each).
inline constexpr uint64_t kRootTmpfsBytes = 16u << 20;
inline constexpr uint64_t kRootTmpfsInodes = 16384;
inline constexpr uint64_t kDevTmpfsBytes = 64u << 10;
inline constexpr uint64_t kDevTmpfsInodes = 256;

struct MountPlan {
  std::vector<MountOp> ops;
  std::string root_options;            // tmpfs options of the new root
  std::vector<TmpfsBound> tmpfs;       // every tmpfs with its size and inode limit (the root first)
  std::vector<std::string> skipped;    // optional sources that do not exist on this host
  std::vector<MountEntry> effective;   // the policy's view of the final filesystem (for Landlock/explain)
  std::vector<ProcSysWrite> proc_sys_writes;  // written by init, in order; a missing knob is skipped
  std::vector<std::string> masked;             // HostFactMasks() that apply to this plan (absolute, inside)
  // Scratch space for the child (allocated here, written only by the child): source fds per op, and
  // for kOverlay ops the layer directory's. An overlay op whose fds are already set (>= 0) before the
  // clone was given detached idmapped trees by the parent (PrepareIdmappedLayersFromParent).
  mutable std::vector<int> src_fds;
  mutable std::vector<int> layer_fds;
  bool staged_layers = false;  // the overlay fds are detached idmapped trees to attach (root callers)
  std::string fuse_overlayfs;  // the fuse-overlayfs program (absolute) when an overlay op has fuse set
  // With fuse_overlayfs: the seccomp program the daemon runs under (set by the sandbox's prepare step:
  // the default allow-list, no notification). The payload shares the daemon's uid and, where Landlock
  // does not separate them, could write its memory: code put there gains no syscall the payload lacks.
  // Empty: the daemon is never started (the run fails).
  std::vector<sock_filter> fuse_seccomp;
  std::vector<UniqueFd> staged_trees;  // the parent's references to those trees (closed after the run)
};

Result<MountPlan> BuildMountPlan(const Policy& policy, const IdMapping& ids);

// Parent side, root callers with overlay ops only (otherwise nothing to do): each overlay's lower tree
// and layer directory become detached trees idmapped so that host root's files are the sandbox
// user's (userns.h MakeIdmapNamespaceFromParent: 0 -> the outside ids), in src_fds/layer_fds, and
// staged_layers is set; the child attaches them (an unprivileged sandbox user could not write a
// root-owned tree, nor the overlay its root-owned layer, otherwise). Files the overlay writes stay
// owned by root on the host. Fails with the fix when the filesystem cannot be idmapped.
Status StageIdmappedLayersFromParent(MountPlan& plan, const IdMapping& ids);

// Read-write binds of a root caller (docs/SECURITY.md "Idmapped binds"). The sandbox's user is an
// unprivileged host uid (65534), so a directory root owns is not writable by it. Such a bind is
// attached as an idmapped mount whose mapping makes the source's owner (uid and gid) the sandbox's
// user: the sandbox writes it as its owner and what it creates is owned by that owner on the host.
// Only for read-write binds (not --ro-bind, not --dev-bind) and only when the owner is not the
// sandbox's outside uid already; not for a shared sticky world-writable directory (/tmp): there the
// sandbox stays one user among others (a root-owned file or symlink it made there would be trusted by
// everyone). An unprivileged caller never needs it (its sandbox is itself on the host: what it owns
// is writable, what it creates is its own) and could not make one (idmapping a host filesystem needs
// CAP_SYS_ADMIN in the initial user namespace).
enum class BindIdmap { kNone, kIdmapped, kSharedSticky };
// Pure: what happens to a read-write bind whose source has `st`.
BindIdmap DecideBindIdmap(const struct stat& st, const IdMapping& ids);
// For --explain and the pool: the decision for each policy mount (kNone for all but read-write
// binds; sources looked at with lstat, an unreadable one is kNone).
std::vector<BindIdmap> PlanBindIdmaps(const Policy& policy, const IdMapping& ids);
// One line for --explain's mount row ("" for kNone).
std::string DescribeBindIdmap(BindIdmap decision, const std::string& src);

// Parent side, before the clone: every read-write bind DecideBindIdmap idmaps becomes a detached
// tree (the source opened without following a symlink, cloned recursively, idmapped, nosuid, nodev)
// in src_fds, with op.idmapped set; the parent keeps its references in staged_trees. Fails with the
// fix when the filesystem (or a mount beneath the source) cannot be idmapped. Returns how many.
// A plan with idmapped binds needs the seccomp guard of seccomp.h (SeccompCompileOptions::setid_guard).
Result<size_t> StageIdmappedBindsFromParent(MountPlan& plan, const IdMapping& ids);

// The /proc and /sys entries that show host facts (kernel command line, symbols, interrupts, devices,
// partitions, keys, boot id, firmware...), absolute. /sys entries apply only when a profile mounts /sys.
const std::vector<std::string>& HostFactMasks();
inline constexpr const char* kMaskedBootId = "/proc/sys/kernel/random/boot_id";

// Parent side: which directories exist inside the sandbox `policy` describes: a tmpfs, /proc, /dev or a
// directory on the way to a mount point, or one beneath a directory bind whose host source has it (a
// symlink is followed as the sandbox would follow it: inside the sandbox's tree). The constructor
// lstat()s each bind source once; each question a few more. Used to drop the host's PATH entries that
// do not exist inside.
class InsideTree {
 public:
  explicit InsideTree(const Policy& policy);
  ~InsideTree();
  InsideTree(const InsideTree&) = delete;
  InsideTree& operator=(const InsideTree&) = delete;
  bool HasDirectory(const std::string& dir) const;  // dir absolute; false for relative paths

 private:
  struct Mounts;
  std::unique_ptr<Mounts> mounts_;
};

// One question: InsideTree(policy).HasDirectory(dir).
bool DirectoryExistsInside(const Policy& policy, const std::string& dir);

// Child side, first step: opens every bind source (O_PATH, no symlink followed) while the child still has
// the caller's host uid (so a root caller can bind its own 0700 directories) and clones it at once
// (open_tree, recursive, detached: what is mounted later, the new root at /tmp included, never shows
// through). Stores the clones in src_fds.
void OpenMountSourcesInChild(const MountPlan& plan, int err_fd);
// Child side. Returns only on success; on failure reports through err_fd and exits.
void ApplyMountPlanInChild(const MountPlan& plan, int err_fd);

}  // namespace airlock
