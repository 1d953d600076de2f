#include "mount/mount_plan.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <vector>

#include "policy/profile_loader.h"
#include "process/spawn.h"

namespace airlock {
namespace {

bool IsCleanAbsolute(const std::string& p) {
  if (p.empty() || p[0] != '/') return false;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string comp = p.substr(i, j - i);
    if (comp == "." || comp == "..") return false;
    i = j + 1;
  }
  return true;
}

std::string Normalize(std::string p) {
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(p[i]);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

const char* const kDevNodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

// Masks that apply to the plan: those under a top directory ("/proc", "/sys") some op mounts at or
// beneath.
std::vector<std::string> ApplicableMasks(const std::vector<MountOp>& ops) {
  std::vector<std::string> out;
  for (const std::string& m : HostFactMasks()) {
    std::string top = m.substr(0, m.find('/', 1));
    for (const MountOp& op : ops) {
      if (op.dst == top || op.dst.starts_with(top + "/")) {
        out.push_back(m);
        break;
      }
    }
  }
  return out;
}

// "/a/./b/../c" -> "/a/c" (lexically, as the sandbox resolves a symlink target).
std::string LexicalClean(const std::string& p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string c = p.substr(i, j - i);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& c : parts) out += "/" + c;
  return out.empty() ? "/" : out;
}

// What the policy puts at a destination, for DirectoryExistsInside. A bind's source is looked at only
// when a question reaches it (kBind: not yet; kAbsent: an optional source that is not there).
struct InsideMount {
  enum class Kind { kBind, kBindDir, kFresh, kLink, kOther, kAbsent };
  Kind kind = Kind::kOther;
  std::string dst, src;  // src: host path (kBind, kBindDir) or link target (kLink)
};

// Looks at a bind's source: a directory, a symlink (recreated inside: its target), something else,
// or nothing.
void Resolve(InsideMount& m) {
  if (m.kind != InsideMount::Kind::kBind) return;
  struct stat st {};
  m.kind = InsideMount::Kind::kAbsent;
  if (::lstat(m.src.c_str(), &st) != 0) return;  // optional and absent (or an error the plan reports)
  m.kind = S_ISDIR(st.st_mode) ? InsideMount::Kind::kBindDir : InsideMount::Kind::kOther;
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlink(m.src.c_str(), target, sizeof target - 1);
    m.kind = n < 0 ? InsideMount::Kind::kAbsent : InsideMount::Kind::kLink;
    if (n >= 0) m.src.assign(target, static_cast<size_t>(n));
  }
}

std::vector<InsideMount> InsideMounts(const Policy& policy) {
  std::vector<InsideMount> out;
  auto fresh = [&out](std::string dst) { out.push_back({InsideMount::Kind::kFresh, Normalize(std::move(dst)), ""}); };
  if (policy.mount_proc) fresh("/proc");
  if (policy.mount_dev) fresh("/dev");
  fresh("/tmp");
  if (!policy.home.empty()) fresh(policy.home);
  for (const MountEntry& e : policy.mounts) {
    InsideMount m{InsideMount::Kind::kOther, Normalize(e.dst), e.src};
    if (e.kind == MountEntry::Kind::kTmpfs || e.kind == MountEntry::Kind::kDir) m.kind = InsideMount::Kind::kFresh;
    if (e.kind == MountEntry::Kind::kSymlink) m.kind = InsideMount::Kind::kLink;
    if (e.kind == MountEntry::Kind::kBind || e.kind == MountEntry::Kind::kRoBind) m.kind = InsideMount::Kind::kBind;
    out.push_back(std::move(m));
  }
  return out;
}

// A symlink at `link` (inside) pointing at `target`, followed by `rest`: the path the sandbox reaches.
std::string Follow(const std::string& link, const std::string& target, const std::string& rest) {
  std::string base = target.starts_with("/") ? target : link.substr(0, link.rfind('/')) + "/" + target;
  return LexicalClean(base + rest);
}

bool ExistsInside(std::vector<InsideMount>& mounts, const std::string& path, int depth) {
  if (depth > 8) return false;  // a symlink loop, or a chain too long to matter
  if (path == "/") return true;
  InsideMount* best = nullptr;
  for (InsideMount& m : mounts) {
    const bool below = m.dst.starts_with(path + "/"), covers = path == m.dst || path.starts_with(m.dst + "/");
    if (!below && !covers) continue;
    Resolve(m);
    if (m.kind == InsideMount::Kind::kAbsent) continue;
    if (below) return true;  // on the way to a mount point: created by the plan
    if (!best || m.dst.size() >= best->dst.size()) best = &m;
  }
  if (!best) return false;
  std::string rest = path.substr(best->dst.size());
  switch (best->kind) {
    case InsideMount::Kind::kFresh: return rest.empty();
    case InsideMount::Kind::kOther:
    case InsideMount::Kind::kBind:
    case InsideMount::Kind::kAbsent: return false;
    case InsideMount::Kind::kLink: return ExistsInside(mounts, Follow(best->dst, best->src, rest), depth + 1);
    case InsideMount::Kind::kBindDir: break;
  }
  // Walk the host source component by component, as the sandbox would walk the bind.
  std::string host = best->src, inside = best->dst;
  size_t i = 1;
  while (i <= rest.size()) {
    size_t j = rest.find('/', i);
    if (j == std::string::npos) j = rest.size();
    std::string comp = rest.substr(i, j - i);
    i = j + 1;
    if (comp.empty()) continue;
    host += "/" + comp;
    inside += "/" + comp;
    struct stat st {};
    if (::lstat(host.c_str(), &st) != 0) return false;
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = ::readlink(host.c_str(), target, sizeof target - 1);
      if (n < 0) return false;
      std::string left = j < rest.size() ? rest.substr(j) : "";
      return ExistsInside(mounts, Follow(inside, std::string(target, static_cast<size_t>(n)), left), depth + 1);
    }
    if (!S_ISDIR(st.st_mode)) return false;
  }
  return true;
}

// A bind source resolved: the path with every symlink but the last component replaced by its target,
// and the last component's lstat.
struct ResolvedSource {
  std::string path;
  struct stat st {};
};

// Splits an absolute or relative path into its non-empty components other than ".".
void PushComponents(const std::string& path, std::vector<std::string>& out_reversed) {
  std::vector<std::string> parts;
  for (size_t i = 0; i <= path.size();) {
    size_t j = std::min(path.find('/', i), path.size());
    if (j > i && path.compare(i, j - i, ".") != 0) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  out_reversed.insert(out_reversed.end(), parts.rbegin(), parts.rend());
}

// Resolves a bind source component by component (docs/PROFILES.md "Bind sources"): a symlink on
// the way is followed only if it belongs to the caller or to root (the system's own layout, e.g.
// /var/run -> /run); one another user owns is refused, since that user can point it anywhere at any
// time. The last component is not followed (a symlink source is recreated as a symlink). The child
// opens the result with RESOLVE_NO_SYMLINKS, so a symlink swapped in later fails the run instead.
Result<ResolvedSource> ResolveBindSource(const std::string& src, const std::string& where) {
  if (src.empty() || src[0] != '/') return MakeError(fmt::format("{}: bind source '{}' must be an absolute path", where, src));
  const uid_t me = ::geteuid();
  std::vector<std::string> todo;  // remaining components, the next one last
  PushComponents(src, todo);
  ResolvedSource r;
  r.path = "/";
  int links = 0;
  if (todo.empty() && ::lstat("/", &r.st) != 0) return ErrnoError(fmt::format("{}: bind source '/'", where));
  while (!todo.empty()) {
    std::string comp = std::move(todo.back());
    todo.pop_back();
    if (comp == "..") {  // r.path has no symlinks: its lexical parent is its real parent
      r.path = r.path.substr(0, std::max<size_t>(r.path.rfind('/'), 1));
      if (::lstat(r.path.c_str(), &r.st) != 0) return ErrnoError(fmt::format("{}: bind source '{}'", where, src));
      continue;
    }
    std::string next = r.path == "/" ? "/" + comp : r.path + "/" + comp;
    if (::lstat(next.c_str(), &r.st) != 0) return ErrnoError(fmt::format("{}: bind source '{}'", where, src));
    if (!S_ISLNK(r.st.st_mode) || todo.empty()) {
      r.path = std::move(next);
      continue;
    }
    if (r.st.st_uid != me && r.st.st_uid != 0) {
      return MakeError(fmt::format("{}: bind source '{}': '{}' is a symlink owned by uid {} (neither you nor root), which "
                                   "airlock does not follow: that user can point it anywhere; bind the real path instead",
                                   where, src, next, r.st.st_uid));
    }
    if (++links > 40) return MakeError(fmt::format("{}: bind source '{}': too many symlinks", where, src), ELOOP);
    char target[4096];
    ssize_t n = ::readlink(next.c_str(), target, sizeof target - 1);
    if (n < 0) return ErrnoError("readlink " + next);
    target[n] = '\0';
    if (target[0] == '/') r.path = "/";
    PushComponents(target, todo);
  }
  return r;
}

// Bytes of a validated size string (ValidatePolicy checked it; 1 byte if not, never unbounded).
uint64_t SizeBytes(const std::string& size) {
  auto bytes = ParseSize(size);
  return bytes && *bytes ? *bytes : 1;
}

// "size=N,nr_inodes=M" and its TmpfsBound.
std::string TmpfsLimits(MountPlan& plan, const std::string& dst, uint64_t bytes, uint64_t inodes, bool writable = true) {
  plan.tmpfs.push_back({dst, bytes, inodes, writable});
  return fmt::format("size={},nr_inodes={}", bytes, inodes);
}

}  // namespace

const std::vector<std::string>& HostFactMasks() {
  static const std::vector<std::string> kMasks = {
      // Directories (an empty read-only tmpfs). /proc/driver is always there: it hosts the masks' tmpfs.
      "/proc/driver", "/proc/acpi", "/proc/asound", "/proc/bus", "/proc/scsi",
      // Files (an empty read-only file); root-only ones are skipped in the child.
      "/proc/cmdline", "/proc/kallsyms", "/proc/kcore", "/proc/keys", "/proc/key-users", "/proc/timer_list",
      "/proc/timer_stats", "/proc/sched_debug", "/proc/latency_stats", "/proc/interrupts", "/proc/softirqs",
      "/proc/config.gz", "/proc/modules", "/proc/iomem", "/proc/ioports", "/proc/dma", "/proc/mtrr", "/proc/fb",
      "/proc/partitions", "/proc/diskstats", "/proc/swaps", "/proc/mdstat", "/proc/devices", "/proc/misc",
      "/proc/consoles", "/proc/buddyinfo", "/proc/zoneinfo", "/proc/pagetypeinfo", "/proc/vmallocinfo",
      "/proc/slabinfo", "/proc/kpagecount", "/proc/kpageflags", "/proc/kpagecgroup", "/proc/kmsg",
      kMaskedBootId,
      // When a profile mounts /sys: firmware tables, hardware identity, energy counters, debug and
      // tracing interfaces.
      "/sys/firmware", "/sys/devices/virtual/dmi", "/sys/devices/virtual/powercap", "/sys/kernel/debug",
      "/sys/kernel/tracing", "/sys/kernel/security"};
  return kMasks;
}

struct InsideTree::Mounts {
  std::vector<InsideMount> list;
};

InsideTree::InsideTree(const Policy& policy) : mounts_(std::make_unique<Mounts>(InsideMounts(policy))) {}
InsideTree::~InsideTree() = default;

bool InsideTree::HasDirectory(const std::string& dir) const {
  if (dir.empty() || dir[0] != '/') return false;
  return ExistsInside(mounts_->list, LexicalClean(dir), 0);
}

bool DirectoryExistsInside(const Policy& policy, const std::string& dir) { return InsideTree(policy).HasDirectory(dir); }

// A copy-on-write overlay: the lower tree and the layer directory (with upper/ and work/) resolved
// like bind sources (no symlink followed but one the caller or root owns), each a directory.
Status PlanOverlay(const MountEntry& e, MountOp& op) {
  const std::string where = e.origin.empty() ? "overlay" : e.origin;
  op.kind = MountOp::Kind::kOverlay;
  auto lower = ResolveBindSource(e.src, where);
  if (!lower) return std::unexpected(lower.error());
  auto layer = ResolveBindSource(e.layer, where + " (layer)");
  if (!layer) return std::unexpected(layer.error());
  for (const auto* r : {&*lower, &*layer}) {
    if (!S_ISDIR(r->st.st_mode)) return MakeError(fmt::format("{}: overlay needs a directory, and '{}' is not one", where, r->path));
  }
  for (const char* sub : {"upper", "work"}) {
    struct stat st {};
    if (::lstat((layer->path + "/" + sub).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return MakeError(fmt::format("{}: layer '{}' has no directory {}/ (made by `airlock box create`)", where, layer->path, sub));
    }
  }
  op.src = lower->path;
  op.layer = layer->path;
  op.fuse = e.fuse;
  return {};
}

Result<MountPlan> BuildMountPlan(const Policy& policy, const IdMapping& ids) {
  MountPlan plan;
  plan.root_options = "mode=0755," + TmpfsLimits(plan, "/", kRootTmpfsBytes, kRootTmpfsInodes, false);
  const uint64_t inodes = policy.tmpfs_inodes;
  const uint64_t tmp_bytes = SizeBytes(policy.tmp_size);
  std::set<std::string> generated_present;
  std::vector<MountOp> user_ops;

  for (const MountEntry& e : policy.mounts) {
    std::string dst = Normalize(e.dst);
    if (!IsCleanAbsolute(dst) || dst == "/") {
      return MakeError(fmt::format("{}: mount destination '{}' must be an absolute path without '.' or '..' and not '/'",
                                   e.origin.empty() ? "mount" : e.origin, e.dst));
    }
    MountOp op;
    op.dst = dst;
    op.origin = e.origin;
    switch (e.kind) {
      case MountEntry::Kind::kBind:
      case MountEntry::Kind::kRoBind:
      case MountEntry::Kind::kDevBind: {
        op.kind = MountOp::Kind::kBind;
        op.readonly = e.kind == MountEntry::Kind::kRoBind;
        op.keep_dev = e.kind == MountEntry::Kind::kDevBind;
        auto resolved = ResolveBindSource(e.src, e.origin.empty() ? "mount" : e.origin);
        if (!resolved && e.optional && resolved.error().err() == ENOENT) {
          plan.skipped.push_back(e.src);
          continue;
        }
        if (!resolved) return std::unexpected(resolved.error());
        op.src = resolved->path;
        const struct stat& st = resolved->st;
        if (S_ISLNK(st.st_mode)) {
          // Never follow a symlink source: recreate it (merged-/usr hosts: /bin -> usr/bin).
          char target[4096];
          ssize_t n = ::readlink(op.src.c_str(), target, sizeof target - 1);
          if (n < 0) return ErrnoError("readlink " + op.src);
          target[n] = '\0';
          op.kind = MountOp::Kind::kSymlink;
          op.src = target;
        } else if (S_ISDIR(st.st_mode)) {
          op.src_is_dir = true;
        } else if (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISSOCK(st.st_mode) ||
                   S_ISFIFO(st.st_mode)) {
          op.src_is_dir = false;
          if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && e.kind != MountEntry::Kind::kDevBind) {
            return MakeError(fmt::format("{}: '{}' is a device node: use --dev-bind to expose devices explicitly",
                                         e.origin.empty() ? "mount" : e.origin, e.src));
          }
        } else {
          return MakeError(fmt::format("bind source '{}' has an unsupported file type", e.src));
        }
        break;
      }
      case MountEntry::Kind::kOverlay: {
        auto planned = PlanOverlay(e, op);
        if (!planned) return std::unexpected(planned.error());
        break;
      }
      case MountEntry::Kind::kTmpfs:
        op.kind = MountOp::Kind::kTmpfs;
        // Unsized: as big as /tmp (never the kernel's default of half the RAM). The sandbox user's
        // only, as its home (a runtime directory must be 0700: Qt refuses any other).
        op.options = fmt::format("mode=0700,uid={},gid={},{}", ids.inside_uid, ids.inside_gid,
                                 TmpfsLimits(plan, dst, e.size_bytes ? e.size_bytes : tmp_bytes, inodes));
        break;
      case MountEntry::Kind::kDir:
        op.kind = MountOp::Kind::kDir;
        break;
      case MountEntry::Kind::kSymlink:
        op.kind = MountOp::Kind::kSymlink;
        op.src = e.src;
        break;
      case MountEntry::Kind::kFile:
        op.kind = MountOp::Kind::kFile;
        op.src = e.src;
        op.mode = 0644;
        generated_present.insert(dst);
        break;
    }
    user_ops.push_back(std::move(op));
    MountEntry eff = e;
    eff.dst = dst;
    plan.effective.push_back(eff);
  }

  auto add = [&plan](MountOp op) { plan.ops.push_back(std::move(op)); };
  auto tmpfs = [](std::string dst, std::string options, bool noexec = false) {
    MountOp op;
    op.kind = MountOp::Kind::kTmpfs;
    op.dst = std::move(dst);
    op.options = std::move(options);
    op.noexec = noexec;
    op.origin = "skeleton";
    return op;
  };

  // Skeleton first: the user's mounts may go beneath these.
  if (policy.mount_proc) {
    MountOp proc;
    proc.kind = MountOp::Kind::kProc;
    proc.dst = "/proc";
    proc.origin = "skeleton";
    add(proc);
    plan.effective.push_back({MountEntry::Kind::kRoBind, "proc", "/proc", 0, false, "skeleton"});
  }
  if (policy.mount_dev) {
    add(tmpfs("/dev", "mode=0755," + TmpfsLimits(plan, "/dev", kDevTmpfsBytes, kDevTmpfsInodes), true));
    for (const char* node : kDevNodes) {
      MountOp op;
      op.kind = MountOp::Kind::kBind;
      op.src = std::string("/dev/") + node;
      op.dst = op.src;
      op.keep_dev = true;
      op.src_is_dir = false;
      op.origin = "skeleton /dev";
      struct stat st {};
      if (::stat(op.src.c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) {
        plan.skipped.push_back(op.src);
        continue;
      }
      add(op);
    }
    MountOp pts;
    pts.kind = MountOp::Kind::kDevpts;
    pts.dst = "/dev/pts";
    pts.options = "newinstance,ptmxmode=0666,mode=0620";
    pts.origin = "skeleton /dev";
    add(pts);
    auto link = [&add](const char* target, const char* path) {
      MountOp op;
      op.kind = MountOp::Kind::kSymlink;
      op.src = target;
      op.dst = path;
      op.origin = "skeleton /dev";
      add(op);
    };
    link("pts/ptmx", "/dev/ptmx");
    link("/proc/self/fd", "/dev/fd");
    link("/proc/self/fd/0", "/dev/stdin");
    link("/proc/self/fd/1", "/dev/stdout");
    link("/proc/self/fd/2", "/dev/stderr");
    add(tmpfs("/dev/shm", fmt::format("mode=1777,uid={},gid={},{}", ids.inside_uid, ids.inside_gid,
                                      TmpfsLimits(plan, "/dev/shm", SizeBytes(policy.shm_size), inodes))));
    plan.effective.push_back({MountEntry::Kind::kDevBind, "dev", "/dev", 0, false, "skeleton"});
  }
  add(tmpfs("/tmp", fmt::format("mode=1777,uid={},gid={},{}", ids.inside_uid, ids.inside_gid,
                                 TmpfsLimits(plan, "/tmp", tmp_bytes, inodes))));
  plan.effective.push_back({MountEntry::Kind::kTmpfs, "", "/tmp", 0, false, "skeleton"});
  if (!policy.home.empty() && policy.home != "/tmp") {
    add(tmpfs(Normalize(policy.home), fmt::format("mode=0700,uid={},gid={},{}", ids.inside_uid, ids.inside_gid,
                                                  TmpfsLimits(plan, Normalize(policy.home), SizeBytes(policy.home_size), inodes))));
    plan.effective.push_back({MountEntry::Kind::kTmpfs, "", Normalize(policy.home), 0, false, "skeleton"});
  }

  // Generated identity files unless the profile brings its own.
  auto file = [&](const std::string& path, std::string content) {
    if (generated_present.count(path)) return;
    MountOp op;
    op.kind = MountOp::Kind::kFile;
    op.dst = path;
    op.src = std::move(content);
    op.mode = 0644;
    op.origin = "generated";
    add(op);
  };
  std::string passwd = "root:x:0:0:root:/root:/bin/sh\n";
  if (ids.inside_uid != 0) passwd += fmt::format("sandbox:x:{}:{}:sandbox:{}:/bin/sh\n", ids.inside_uid, ids.inside_gid, policy.home);
  passwd += "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
  std::string group = "root:x:0:\n";
  if (ids.inside_gid != 0) group += fmt::format("sandbox:x:{}:\n", ids.inside_gid);
  group += "nogroup:x:65534:\n";
  file("/etc/passwd", passwd);
  file("/etc/group", group);
  file("/etc/hosts", fmt::format("127.0.0.1 localhost {0}\n::1 localhost ip6-localhost {0}\n", policy.hostname));

  // --net user: the sandbox's resolver is one the network helper can always reach. With an
  // allow-list, airlock's own (src/net/allow_resolver.h, 127.0.0.1:53 inside), whatever the profile
  // says; without one, the helper's forwarder to the host's resolvers (10.0.2.3, also where the
  // host's resolv.conf names a host-local stub such as 127.0.0.53), unless the profile writes its
  // own file. Either replaces a bind of the host's resolv.conf (the network profile's).
  bool allow_list = policy.net.mode == NetMode::kUser && !policy.net.allow.empty();
  bool forwarder = policy.net.mode == NetMode::kUser && policy.net.allow.empty() && !generated_present.count("/etc/resolv.conf");
  if (allow_list || forwarder) {
    std::erase_if(user_ops, [](const MountOp& op) { return op.dst == "/etc/resolv.conf"; });
    std::erase_if(plan.effective, [](const MountEntry& e) { return e.dst == "/etc/resolv.conf"; });
    MountOp op;
    op.kind = MountOp::Kind::kFile;
    op.dst = "/etc/resolv.conf";
    op.src = allow_list ? "# airlock --net-allow: answers the allow-list's names only\nnameserver 127.0.0.1\n"
                        : "# airlock --net user: the network helper's forwarder to the host's resolvers\nnameserver 10.0.2.3\n";
    op.mode = 0644;
    op.origin = allow_list ? "generated (--net-allow resolver)" : "generated (--net user forwarder)";
    plan.effective.push_back({MountEntry::Kind::kFile, op.src, op.dst, 0, false, op.origin});
    add(op);
  }

  for (auto& op : user_ops) add(std::move(op));
  if (std::any_of(plan.ops.begin(), plan.ops.end(), [](const MountOp& op) { return op.fuse; })) {
    plan.fuse_overlayfs = process::FindSystemProgram("fuse-overlayfs");
    if (plan.fuse_overlayfs.empty()) {
      return MakeError("this box's overlays are mounted by fuse-overlayfs, which is not installed: apt-get install fuse-overlayfs");
    }
  }
  plan.masked = ApplicableMasks(plan.ops);
  plan.src_fds.assign(plan.ops.size(), -1);
  plan.layer_fds.assign(plan.ops.size(), -1);
  return plan;
}

}  // namespace airlock
