#include "mount/mount_plan.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <set>

#include "policy/profile_loader.h"

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
        op.src = e.src;
        op.readonly = e.kind == MountEntry::Kind::kRoBind;
        op.keep_dev = e.kind == MountEntry::Kind::kDevBind;
        struct stat st {};
        if (::lstat(e.src.c_str(), &st) != 0) {
          if (e.optional && errno == ENOENT) {
            plan.skipped.push_back(e.src);
            continue;
          }
          return ErrnoError(fmt::format("{}: bind source '{}'", e.origin.empty() ? "mount" : e.origin, e.src));
        }
        if (S_ISLNK(st.st_mode)) {
          // Never follow a symlink source: recreate it (merged-/usr hosts: /bin -> usr/bin).
          char target[4096];
          ssize_t n = ::readlink(e.src.c_str(), target, sizeof target - 1);
          if (n < 0) return ErrnoError("readlink " + e.src);
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
      case MountEntry::Kind::kTmpfs:
        op.kind = MountOp::Kind::kTmpfs;
        // Unsized: as big as /tmp (never the kernel's default of half the RAM).
        op.options = fmt::format("mode=0755,uid={},gid={},{}", ids.inside_uid, ids.inside_gid,
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

  for (auto& op : user_ops) add(std::move(op));
  plan.src_fds.assign(plan.ops.size(), -1);
  return plan;
}

}  // namespace airlock
