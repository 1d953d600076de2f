#include "cgroup/cgroup.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>

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

}  // namespace

Cgroup::Cgroup(Cgroup&& other) noexcept
    : version_(std::move(other.version_)), nodes_(std::move(other.nodes_)), enforced_(std::move(other.enforced_)) {
  other.nodes_.clear();
  other.enforced_.clear();
  other.version_ = "none";
}

Cgroup& Cgroup::operator=(Cgroup&& other) noexcept {
  if (this != &other) {
    (void)Remove();
    version_ = std::move(other.version_);
    nodes_ = std::move(other.nodes_);
    enforced_ = std::move(other.enforced_);
    other.nodes_.clear();
    other.enforced_.clear();
    other.version_ = "none";
  }
  return *this;
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

  auto hs = cgroupfs::DiscoverHierarchies();
  const Hierarchy* v2 = nullptr;
  for (const auto& h : hs) {
    if (h.v2) v2 = &h;
  }

  // A name free in every hierarchy (a dead airlock that had our pid may have left one behind; it is
  // not ours to kill, the GC skips it while we live, so we step around it).
  std::string hint = SanitizeHint(name_hint);
  std::string name;
  // The creator's start time makes the name unambiguous after pid reuse: the GC removes a cgroup
  // whose creator is gone even when another process has its pid by now.
  static const uint64_t start = cgroupfs::ProcessStartTime(::getpid());
  for (int attempt = 0; attempt < 100; ++attempt) {
    name = "airlock-" + std::to_string(::getpid()) + "-s" + std::to_string(start) + "-" + std::to_string(g_counter.fetch_add(1));
    if (!hint.empty()) name += "-" + hint;
    bool taken = std::any_of(hs.begin(), hs.end(), [&name](const Hierarchy& h) { return cgroupfs::Exists(h.own_dir + "/" + name); });
    if (!taken) break;
  }

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
        if (auto v = cgroupfs::ReadKeyed(n.path + "/memory.events", "oom_kill"); v && *v > 0) s.oom_killed = true;
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
  Status result = Ok();
  if (!AllProcs(nodes_).empty()) {
    auto k = KillAll();
    if (!k) result = std::unexpected(std::move(k.error()).WithContext("cgroup remove"));
  }
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
      if (attempt % 20 == 19) (void)KillAll();
      SleepMs(5);
    }
    if (!done) {
      if (result) result = std::unexpected(Error("cgroup remove: rmdir " + n.path, err));
      failed.push_back(std::move(n));
    }
  }
  nodes_ = std::move(failed);
  if (nodes_.empty()) {
    enforced_.clear();
    version_ = "none";
  }
  return result;
}

}  // namespace airlock
