#include "cgroup/cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>

#include "cgroup/cgroup_fs.h"
#include "core/log.h"

namespace airlock {
namespace {

using cgroupfs::Hierarchy;

std::atomic<unsigned> g_counter{0};

void SleepMs(long ms) {
  struct timespec ts {ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

std::string SanitizeHint(const std::string& hint) {
  std::string out;
  for (char c : hint) {
    if (out.size() >= 32) break;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.') out.push_back(c);
  }
  return out;
}

// Makes `controller` usable by children of the v2 cgroup `dir`.
bool EnsureV2Controller(const std::string& dir, const std::string& controller) {
  auto sub = cgroupfs::ReadFile(dir + "/cgroup.subtree_control");
  if (!sub) return false;
  std::string padded = " " + *sub;
  for (auto& ch : padded) {
    if (ch == '\n') ch = ' ';
  }
  if (padded.find(" " + controller + " ") != std::string::npos) return true;
  auto w = cgroupfs::WriteFile(dir + "/cgroup.subtree_control", "+" + controller);
  if (!w) {
    LogDebug("cgroup: cannot enable {} in {}: {}", controller, dir, w.error().What());
    return false;
  }
  return true;
}

// Our own v2 cgroup holds us, so it cannot hand controllers to its children (cgroup v2's "no internal
// processes" rule). When we are its only process, as in a delegated scope (`systemd-run --user --scope
// -p Delegate=yes airlock ...`), move ourselves into a leaf below it: it then holds no process. Never
// when others share it (a login session), never in the root cgroup (exempt from the rule).
bool MoveSelfIntoLeaf(const Hierarchy& h) {
  if (h.own_dir == h.mount_point) return false;
  auto procs = cgroupfs::ReadProcs(h.own_dir);
  if (procs.size() != 1 || procs[0] != ::getpid()) return false;
  std::string leaf = h.own_dir + "/" + cgroupfs::SelfLeafName();
  if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) return false;
  if (auto w = cgroupfs::WriteFile(leaf + "/cgroup.procs", "0"); !w) {
    LogDebug("cgroup: cannot move into {}: {}", leaf, w.error().What());
    ::rmdir(leaf.c_str());
    return false;
  }
  LogDebug("cgroup: moved into {} so that {} can enable controllers for the sandboxes", leaf, h.own_dir);
  return true;
}

// The wanted controllers that our v2 cgroup can give its children (enabling them, and making room
// by MoveSelfIntoLeaf when that is what stops it).
std::vector<std::string> EnableOnV2(const Hierarchy& v2, const std::vector<std::string>& wanted) {
  std::vector<std::string> on, refused;
  for (const auto& c : wanted) {
    if (v2.Has(c)) (EnsureV2Controller(v2.own_dir, c) ? on : refused).push_back(c);
  }
  if (!refused.empty() && MoveSelfIntoLeaf(v2)) {
    for (const auto& c : refused) {
      if (EnsureV2Controller(v2.own_dir, c)) on.push_back(c);
    }
  }
  return on;
}

// mkdir of a cgroup directory; failure (usually EACCES/EROFS unprivileged) is logged at debug level.
bool MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return true;
  LogDebug("cgroup: mkdir {}: {}", path, std::strerror(errno));
  return false;
}

bool WriteLimit(const std::string& path, const std::string& value) {
  auto w = cgroupfs::WriteFile(path, value);
  if (!w) LogWarning("cgroup: {}", w.error().What());
  return static_cast<bool>(w);
}

bool WriteMemory(const Cgroup::Node& n, uint64_t bytes) {
  std::string v = std::to_string(bytes);
  if (n.v2) {
    if (!WriteLimit(n.path + "/memory.max", v)) return false;
    if (cgroupfs::Exists(n.path + "/memory.swap.max")) WriteLimit(n.path + "/memory.swap.max", "0");
    return true;
  }
  if (!WriteLimit(n.path + "/memory.limit_in_bytes", v)) return false;
  // memsw must be >= limit_in_bytes, so it is written second; equal means no swap on top.
  if (cgroupfs::Exists(n.path + "/memory.memsw.limit_in_bytes")) WriteLimit(n.path + "/memory.memsw.limit_in_bytes", v);
  return true;
}

bool WriteCpu(const Cgroup::Node& n, double cpus) {
  constexpr long kPeriod = 100000;
  long quota = std::max(1000L, std::lround(cpus * kPeriod));
  if (n.v2) return WriteLimit(n.path + "/cpu.max", std::to_string(quota) + " " + std::to_string(kPeriod));
  return WriteLimit(n.path + "/cpu.cfs_period_us", std::to_string(kPeriod)) &&
         WriteLimit(n.path + "/cpu.cfs_quota_us", std::to_string(quota));
}

const Hierarchy* FindV1(const std::vector<Hierarchy>& hs, const std::string& controller) {
  for (const auto& h : hs) {
    if (!h.v2 && h.Has(controller)) return &h;
  }
  return nullptr;
}

std::vector<pid_t> AllProcs(const std::vector<Cgroup::Node>& nodes) {
  std::vector<pid_t> pids;
  for (const auto& n : nodes) {
    for (pid_t p : cgroupfs::ReadProcs(n.path)) {
      if (std::find(pids.begin(), pids.end(), p) == pids.end()) pids.push_back(p);
    }
  }
  return pids;
}

// The lease on one directory: open it and hold a shared flock (docs/LIMITS.md).
Result<UniqueFd> OpenLease(const std::string& path, int how) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + path);
  int rc;
  do {
    rc = ::flock(fd.get(), how);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return ErrnoError("lock " + path);
  return fd;
}

// True when the creator named in the directory name `path` is gone (pid dead, or another process
// with that pid since).
bool CreatorIsDead(const std::string& path) {
  std::string name = path.substr(path.rfind('/') + 1);
  pid_t creator = cgroupfs::CreatorPidFromName(name);
  if (creator <= 0) return false;
  if (::kill(creator, 0) != 0 && errno != EPERM) return true;
  uint64_t start = cgroupfs::CreatorStartFromName(name);
  return start != 0 && cgroupfs::ProcessStartTime(creator) != start;
}

// A name free in every hierarchy we will use (a dead airlock that had our pid may have left one
// behind; it is not ours to kill, the GC skips it while we live, so we step around it).
std::string FreeName(const std::vector<Hierarchy>& hs, const std::vector<std::string>& wanted, const std::string& hint) {
  // The creator's start time makes a name unambiguous after pid reuse: the GC removes a cgroup whose
  // creator is gone even when another process has its pid by now.
  const uint64_t start = cgroupfs::OwnStartTime();
  std::string name;
  for (int attempt = 0; attempt < 100; ++attempt) {
    name = "airlock-" + std::to_string(::getpid()) + "-s" + std::to_string(start) + "-" + std::to_string(g_counter.fetch_add(1));
    if (!hint.empty()) name += "-" + hint;
    bool taken = std::any_of(hs.begin(), hs.end(), [&name, &wanted](const Hierarchy& h) {
      bool used = h.v2 || h.Has("cpuacct") || h.Has("freezer") ||
                  std::any_of(wanted.begin(), wanted.end(), [&h](const std::string& c) { return h.Has(c); });
      return used && cgroupfs::Exists(h.own_dir + "/" + name);
    });
    if (!taken) break;
  }
  return name;
}

}  // namespace

std::string CgroupShape::ToText() const {
  std::string out = version + "\nenforced";
  for (const auto& e : enforced) out += " " + e;
  out += "\n";
  for (const auto& n : node_controllers) {
    out += "node";
    for (const auto& c : n) out += " " + c;
    out += "\n";
  }
  return out;
}

Result<CgroupShape> CgroupShape::FromText(const std::string& text) {
  if (text.size() > 4096) return MakeError("cgroup shape: too long");
  auto word_ok = [](const std::string& w) {
    return !w.empty() && w.size() <= 32 &&
           std::all_of(w.begin(), w.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '='; });
  };
  CgroupShape shape;
  std::istringstream in(text);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string head, w;
    words >> head;
    std::vector<std::string> rest;
    while (words >> w) {
      if (!word_ok(w) || rest.size() >= 8) return MakeError("cgroup shape: bad word");
      rest.push_back(w);
    }
    if (first) {
      if (!word_ok(head) || !rest.empty()) return MakeError("cgroup shape: bad version");
      shape.version = head;
      first = false;
    } else if (head == "enforced") {
      shape.enforced = rest;
    } else if (head == "node" && shape.node_controllers.size() < 6) {  // at most 5 directories (cgroup.cc)
      shape.node_controllers.push_back(rest);
    } else {
      return MakeError("cgroup shape: unexpected line");
    }
  }
  if (first || shape.node_controllers.empty()) return MakeError("cgroup shape: empty");
  return shape;
}

Cgroup::Cgroup(Cgroup&& other) noexcept
    : version_(std::move(other.version_)),
      nodes_(std::move(other.nodes_)),
      enforced_(std::move(other.enforced_)),
      leases_(std::move(other.leases_)),
      owner_(other.owner_) {
  other.Forget();
}

Cgroup& Cgroup::operator=(Cgroup&& other) noexcept {
  if (this != &other) {
    (void)Remove();
    version_ = std::move(other.version_);
    nodes_ = std::move(other.nodes_);
    enforced_ = std::move(other.enforced_);
    leases_ = std::move(other.leases_);
    owner_ = other.owner_;
    other.Forget();
  }
  return *this;
}

void Cgroup::Forget() {
  nodes_.clear();
  enforced_.clear();
  leases_.clear();
  version_ = "none";
  owner_ = true;
}

Cgroup::~Cgroup() {
  auto s = Remove();
  if (!s) LogWarning("cgroup: {}", s.error().What());
}

std::vector<std::string> Cgroup::paths() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) out.push_back(n.path);
  return out;
}

Result<Cgroup> CreateCgroupFromParent(const Limits& limits, const std::string& name_hint, const CgroupOptions& options) {
  Cgroup cg;
  std::vector<std::string> wanted;
  if (limits.memory_bytes) wanted.push_back("memory");
  if (limits.pids) wanted.push_back("pids");
  if (limits.cpus) wanted.push_back("cpu");
  if (wanted.empty()) return cg;

  auto hs = cgroupfs::RecentHierarchies();
  const Hierarchy* v2 = nullptr;
  for (const auto& h : hs) {
    if (h.v2) v2 = &h;
  }

  const std::string name = FreeName(hs, wanted, SanitizeHint(name_hint));

  // Decide v2 vs v1 per controller.
  std::vector<std::string> on_v2;
  if (v2) on_v2 = EnableOnV2(*v2, wanted);
  std::vector<Cgroup::Node> nodes;
  bool v2_made = false;
  if (!on_v2.empty()) {
    Cgroup::Node n{v2->own_dir + "/" + name, true, on_v2};
    if (MakeDir(n.path)) {
      nodes.push_back(n);
      v2_made = true;
    } else {
      on_v2.clear();
    }
  }
  for (const auto& c : wanted) {
    if (std::find(on_v2.begin(), on_v2.end(), c) != on_v2.end()) continue;
    const Hierarchy* h = FindV1(hs, c);
    if (!h) continue;
    std::string path = h->own_dir + "/" + name;
    auto existing = std::find_if(nodes.begin(), nodes.end(), [&path](const Cgroup::Node& n) { return n.path == path; });
    if (existing != nodes.end()) {
      existing->controllers.push_back(c);  // co-mounted (cpu,cpuacct)
      continue;
    }
    if (MakeDir(path)) nodes.push_back(Cgroup::Node{path, false, {c}});
  }
  if (nodes.empty()) {
    LogDebug("cgroup: no hierarchy accepted a child cgroup; limits fall back");
    return cg;
  }
  // Extra directories for accounting and killing: a v2 one (cgroup.kill, cpu.stat) when possible,
  // else v1 cpuacct and freezer.
  if (!v2_made && v2 && options.v2_tracking && MakeDir(v2->own_dir + "/" + name)) {
    nodes.push_back(Cgroup::Node{v2->own_dir + "/" + name, true, {}});
    v2_made = true;
  }
  if (!v2_made) {
    for (const char* extra : {"cpuacct", "freezer"}) {
      const Hierarchy* h = FindV1(hs, extra);
      if (!h) continue;
      std::string path = h->own_dir + "/" + name;
      auto existing = std::find_if(nodes.begin(), nodes.end(), [&path](const Cgroup::Node& n) { return n.path == path; });
      if (existing != nodes.end()) {
        existing->controllers.push_back(extra);
      } else if (MakeDir(path)) {
        nodes.push_back(Cgroup::Node{path, false, {extra}});
      }
    }
  }
  cg.nodes_ = std::move(nodes);
  // The lease, before anything else can see the directories as ours: from now on a GC of another
  // airlock leaves them alone even if we die.
  for (const auto& n : cg.nodes_) {
    auto lease = OpenLease(n.path, LOCK_SH);
    if (!lease) return std::unexpected(std::move(lease.error()).WithContext("cgroup lease"));
    cg.leases_.push_back(std::move(*lease));
  }

  // Write the limits.
  bool any_v1 = false, any_v2 = false;
  for (const auto& n : cg.nodes_) {
    for (const auto& c : n.controllers) {
      bool ok = true;
      if (c == "memory") {
        ok = WriteMemory(n, *limits.memory_bytes);
      } else if (c == "pids") {
        ok = WriteLimit(n.path + "/pids.max", std::to_string(*limits.pids));
      } else if (c == "cpu") {
        ok = WriteCpu(n, *limits.cpus);
      } else {
        continue;  // accounting/freezer only
      }
      if (ok) {
        cg.enforced_.push_back(c);
        (n.v2 ? any_v2 : any_v1) = true;
      }
    }
  }
  cg.version_ = any_v1 && any_v2 ? "v1+v2" : any_v2 ? "v2" : any_v1 ? "v1" : "none";
  LogDebug("cgroup: {} created ({}), enforcing {} of {} limits", name, cg.version_, cg.enforced_.size(), wanted.size());
  return cg;
}

std::string Cgroup::EnforcedOn(const std::string& controller) const {
  if (std::find(enforced_.begin(), enforced_.end(), controller) == enforced_.end()) return "";
  for (const auto& n : nodes_) {
    if (std::find(n.controllers.begin(), n.controllers.end(), controller) != n.controllers.end()) return n.v2 ? "v2" : "v1";
  }
  return "";
}

Status Cgroup::Attach(pid_t pid) {
  std::string p = std::to_string(pid);
  for (const auto& n : nodes_) {
    AIRLOCK_TRY_STATUS(cgroupfs::WriteFile(n.path + "/cgroup.procs", p), "cgroup attach " + p);
  }
  return Ok();
}

Result<Cgroup::JoinFds> Cgroup::OpenForJoin() const {
  JoinFds out;
  for (const auto& n : nodes_) {
    if (n.v2) {
      out.v2_dir.reset(::open(n.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!out.v2_dir) return ErrnoError("cgroup: open " + n.path);
      continue;
    }
    UniqueFd fd(::open((n.path + "/tasks").c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return ErrnoError("cgroup: open " + n.path + "/tasks");
    out.v1_tasks.push_back(std::move(fd));
  }
  return out;
}

int JoinCgroupInChild(const int* v1_tasks, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    ssize_t w = ::write(v1_tasks[i], "0", 1);
    if (w != 1) return w < 0 ? -errno : -EIO;
  }
  return 0;
}

std::vector<int> Cgroup::lease_fds() const {
  std::vector<int> out;
  for (const auto& l : leases_) out.push_back(l.get());
  return out;
}

CgroupShape Cgroup::shape() const {
  CgroupShape s;
  s.version = version_;
  s.enforced = enforced_;
  for (const auto& n : nodes_) s.node_controllers.push_back(n.controllers);
  return s;
}

Result<Cgroup> Cgroup::Adopt(std::vector<UniqueFd> leases, const CgroupShape& shape) {
  if (leases.size() != shape.node_controllers.size()) return MakeError("cgroup adopt: descriptors and shape disagree");
  Cgroup cg;
  cg.owner_ = false;
  for (size_t i = 0; i < leases.size(); ++i) {
    struct statfs fs {};
    if (::fstatfs(leases[i].get(), &fs) != 0) return ErrnoError("cgroup adopt: fstatfs");
    bool v2 = fs.f_type == CGROUP2_SUPER_MAGIC;
    if (!v2 && fs.f_type != CGROUP_SUPER_MAGIC) return MakeError("cgroup adopt: not a cgroup directory");
    char link[64], target[4096];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", leases[i].get());
    ssize_t n = ::readlink(link, target, sizeof target - 1);
    if (n <= 0) return ErrnoError("cgroup adopt: readlink");
    std::string path(target, static_cast<size_t>(n));
    if (path[0] != '/' || cgroupfs::CreatorPidFromName(path.substr(path.rfind('/') + 1)) <= 0) {
      return MakeError("cgroup adopt: " + path + " is not an airlock cgroup");
    }
    cg.nodes_.push_back(Node{path, v2, shape.node_controllers[i]});
  }
  cg.leases_ = std::move(leases);
  cg.enforced_ = shape.enforced;
  cg.version_ = shape.version;
  return cg;
}

Status Cgroup::TakeExclusiveLease() {
  // Converting our shared lock (or taking one on a fresh descriptor) fails at once while another
  // process still holds its lease.
  bool fresh = leases_.size() != nodes_.size();
  if (fresh) {
    leases_.clear();
    for (const auto& n : nodes_) {
      UniqueFd fd(::open(n.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!fd && errno != ENOENT) return ErrnoError("open " + n.path);
      leases_.push_back(std::move(fd));
    }
  }
  for (size_t i = 0; i < leases_.size(); ++i) {
    if (!leases_[i]) continue;
    if (::flock(leases_[i].get(), LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      for (size_t k = 0; k <= i; ++k) {
        if (leases_[k]) (void)::flock(leases_[k].get(), LOCK_SH | LOCK_NB);  // back to a shared lease
      }
      if (fresh) leases_.clear();
      return MakeError("cgroup " + nodes_[i].path + " is still in use by another process", e == EWOULDBLOCK ? EBUSY : e);
    }
  }
  return Ok();
}

Status Cgroup::KillAll() {
  if (nodes_.empty()) return Ok();
  const Node* killer = nullptr;
  const Node* freezer = nullptr;
  for (const auto& n : nodes_) {
    if (n.v2 && cgroupfs::Exists(n.path + "/cgroup.kill")) killer = &n;
    if (!n.v2 && std::find(n.controllers.begin(), n.controllers.end(), "freezer") != n.controllers.end()) freezer = &n;
  }
  constexpr int kRounds = 200;
  for (int round = 0; round < kRounds; ++round) {
    if (freezer) (void)cgroupfs::WriteFile(freezer->path + "/freezer.state", "FROZEN");
    auto pids = AllProcs(nodes_);
    if (pids.empty()) {
      if (freezer) (void)cgroupfs::WriteFile(freezer->path + "/freezer.state", "THAWED");
      return Ok();
    }
    if (killer) {
      // cgroup.kill kills atomically, including tasks forked meanwhile; repeat in case a task was being
      // attached to another of our directories.
      (void)cgroupfs::WriteFile(killer->path + "/cgroup.kill", "1");
    }
    for (pid_t p : pids) ::kill(p, SIGKILL);
    if (freezer) (void)cgroupfs::WriteFile(freezer->path + "/freezer.state", "THAWED");
    SleepMs(round < 10 ? 1 : 10);
  }
  auto left = AllProcs(nodes_);
  if (left.empty()) return Ok();
  return MakeError("cgroup kill: " + std::to_string(left.size()) + " processes still inside " + nodes_.front().path, EBUSY);
}

CgroupStats Cgroup::Stats() const {
  CgroupStats s;
  for (const auto& n : nodes_) {
    auto has = [&n](const char* c) { return std::find(n.controllers.begin(), n.controllers.end(), c) != n.controllers.end(); };
    if (n.v2) {
      if (has("memory")) {
        if (auto v = cgroupfs::ReadNumber(n.path + "/memory.peak")) s.memory_peak_bytes = v;
        if (auto v = cgroupfs::ReadKeyed(n.path + "/memory.events", "oom_kill")) {
          s.oom_counted = true;
          if (*v > 0) s.oom_killed = true;
        }
      }
      if (has("pids")) {
        if (auto v = cgroupfs::ReadKeyed(n.path + "/pids.events", "max"); v && *v > 0) s.pids_limit_hit = true;
      }
      if (auto v = cgroupfs::ReadKeyed(n.path + "/cpu.stat", "usage_usec")) s.cpu_usage_ns = *v * 1000;
      continue;
    }
    if (has("memory")) {
      if (auto v = cgroupfs::ReadNumber(n.path + "/memory.max_usage_in_bytes")) s.memory_peak_bytes = v;
      if (auto v = cgroupfs::ReadKeyed(n.path + "/memory.oom_control", "oom_kill")) {
        s.oom_counted = true;
        if (*v > 0) s.oom_killed = true;
      } else if (auto f = cgroupfs::ReadNumber(n.path + "/memory.failcnt"); f && *f > 0) {
        s.oom_killed = true;  // old kernels: the limit was hit (not necessarily an OOM kill)
      }
    }
    if (has("pids")) {
      if (auto v = cgroupfs::ReadKeyed(n.path + "/pids.events", "max"); v && *v > 0) s.pids_limit_hit = true;
    }
    if (has("cpuacct") && !s.cpu_usage_ns) {
      if (auto v = cgroupfs::ReadNumber(n.path + "/cpuacct.usage")) s.cpu_usage_ns = v;
    }
  }
  return s;
}

Status Cgroup::Remove() {
  if (nodes_.empty()) return Ok();
  if (!owner_) {
    // The pool that made it removes it once its init is gone; unless that pool is gone already.
    if (!CreatorIsDead(nodes_.front().path)) {
      Forget();
      return Ok();
    }
    owner_ = true;
  }
  if (Status s = TakeExclusiveLease(); !s) return s;
  Status result = Ok();
  bool killed = false;
  std::vector<Node> failed;
  for (auto& n : nodes_) {
    bool done = false;
    int err = 0;
    for (int attempt = 0; attempt < 100 && !done; ++attempt) {
      if (::rmdir(n.path.c_str()) == 0 || errno == ENOENT) {
        done = true;
        break;
      }
      err = errno;
      if (err != EBUSY) break;
      // Something is still inside (usually nothing is: the run's init has been reaped).
      if (!killed || attempt % 20 == 19) {
        auto k = KillAll();
        if (!k && result) result = std::unexpected(std::move(k.error()).WithContext("cgroup remove"));
        killed = true;
        continue;
      }
      SleepMs(5);
    }
    if (!done) {
      if (result) result = std::unexpected(Error("cgroup remove: rmdir " + n.path, err));
      failed.push_back(std::move(n));
    }
  }
  nodes_ = std::move(failed);
  if (nodes_.empty()) {
    Forget();
  } else {
    leases_.clear();  // out of step with nodes_ now; a later Remove() opens fresh ones
  }
  return result;
}

}  // namespace airlock
