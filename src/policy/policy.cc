// ValidatePolicy and the enum names. Validation collects every problem so a profile author sees them
// all at once; each problem names the mount's origin where there is one.
#include "policy/policy.h"

#include <sys/resource.h>

#include <cmath>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/profile_loader.h"

namespace airlock {
namespace {

constexpr int kMaxLandlockAbi = 6;


bool HasDotDot(std::string_view path) {
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(pos, end - pos) == "..") return true;
    pos = end + 1;
  }
  return false;
}

// Collapses repeated and trailing slashes so "/a//b/" and "/a/b" count as the same destination.
std::string SquashSlashes(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// Problems with an absolute in-sandbox path ("" = fine).
std::string PathProblem(std::string_view path) {
  if (path.empty()) return "is empty";
  if (path.find('\0') != std::string_view::npos) return "contains a NUL byte";
  if (path.front() != '/') return "is relative (must start with /)";
  if (HasDotDot(path)) return "contains '..' (must stay inside /)";
  if (path.find_first_not_of('/') == std::string_view::npos) return "is / (the root is built by airlock)";
  if (path.size() > 4096) return "is longer than PATH_MAX";
  return "";
}

bool KnownRlimit(const std::string& name) {
  static const std::set<std::string> kNames = {"as",    "core",  "cpu",      "data",   "fsize",  "locks",
                                                "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
                                                "rtprio",  "sigpending", "stack"};
  return kNames.count(name) != 0;
}

bool ValidNetAllow(const std::string& entry) {
  size_t colon = entry.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string port = entry.substr(colon + 1);
  if (port == "*") return true;
  if (port.empty() || port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  int value = std::stoi(port);
  return value >= 1 && value <= 65535;
}

void CheckMounts(const Policy& policy, std::vector<std::string>& problems) {
  std::set<std::string> seen;
  for (const MountEntry& m : policy.mounts) {
    std::string where = std::string(MountKindName(m.kind)) + " '" + m.dst + "'";
    if (!m.origin.empty()) where += " (" + m.origin + ")";
    std::string dst_problem = PathProblem(m.dst);
    if (!dst_problem.empty()) {
      problems.push_back(where + ": destination " + dst_problem);
      continue;
    }
    bool is_bind = m.kind == MountEntry::Kind::kBind || m.kind == MountEntry::Kind::kRoBind ||
                   m.kind == MountEntry::Kind::kDevBind || m.kind == MountEntry::Kind::kOverlay;
    if (m.kind == MountEntry::Kind::kOverlay && (m.layer.empty() || m.layer.front() != '/' || m.layer.find('\0') != std::string::npos)) {
      problems.push_back(where + ": layer '" + m.layer + "' must be an absolute host path");
    }
    if (m.fuse && m.kind != MountEntry::Kind::kOverlay) problems.push_back(where + ": fuse is only for an overlay");
    if (is_bind) {
      if (m.src.empty() || m.src.front() != '/') {
        problems.push_back(where + ": source '" + m.src + "' must be an absolute host path");
      } else if (m.src.find('\0') != std::string::npos) {
        problems.push_back(where + ": source contains a NUL byte");
      }
    }
    if (m.kind == MountEntry::Kind::kSymlink && (m.src.empty() || m.src.find('\0') != std::string::npos)) {
      problems.push_back(where + ": symlink target must be a non-empty string without NUL");
    }
    if (m.kind == MountEntry::Kind::kFile && m.dst == "/") {
      problems.push_back(where + ": a generated file cannot be /");
    }
    if (!seen.insert(SquashSlashes(m.dst)).second) {
      problems.push_back(where + ": duplicate destination (another mount entry already targets it)");
    }
  }
}

void CheckLimits(const Limits& limits, std::vector<std::string>& problems) {
  if (limits.memory_bytes && *limits.memory_bytes == 0) problems.push_back("limits.memory must be > 0");
  if (limits.pids && *limits.pids == 0) problems.push_back("limits.pids must be > 0");
  if (limits.cpus && (!std::isfinite(*limits.cpus) || *limits.cpus <= 0)) {
    problems.push_back("limits.cpus must be a positive number (e.g. 0.5)");
  }
  if (limits.timeout && limits.timeout->count() <= 0) problems.push_back("limits.timeout must be > 0");
  if (limits.cgroup == Requirement::kDisabled && limits.cpus) {
    problems.push_back("limits.cgroup is disabled but limits.cpus is set (a CPU share needs a cgroup; memory and pids "
                       "fall back to rlimits)");
  }
  std::set<std::string> names;
  for (const RlimitEntry& r : limits.rlimits) {
    if (!KnownRlimit(r.name)) problems.push_back("limits.rlimits: unknown resource '" + r.name + "'");
    if (!names.insert(r.name).second) problems.push_back("limits.rlimits: '" + r.name + "' set twice");
    if (r.soft > r.hard) problems.push_back("limits.rlimits." + r.name + ": soft limit above hard limit");
  }
}

}  // namespace

const char* MountKindName(MountEntry::Kind kind) {
  switch (kind) {
    case MountEntry::Kind::kBind: return "bind";
    case MountEntry::Kind::kRoBind: return "ro-bind";
    case MountEntry::Kind::kDevBind: return "dev-bind";
    case MountEntry::Kind::kTmpfs: return "tmpfs";
    case MountEntry::Kind::kDir: return "dir";
    case MountEntry::Kind::kSymlink: return "symlink";
    case MountEntry::Kind::kFile: return "file";
    case MountEntry::Kind::kOverlay: return "overlay";
  }
  return "?";
}

const char* RequirementName(Requirement r) {
  switch (r) {
    case Requirement::kRequired: return "required";
    case Requirement::kBestEffort: return "best-effort";
    case Requirement::kDisabled: return "disabled";
  }
  return "?";
}

const char* NetModeName(NetMode m) {
  switch (m) {
    case NetMode::kNone: return "none";
    case NetMode::kHost: return "host";
    case NetMode::kUser: return "user";
    case NetMode::kSinkhole: return "sinkhole";
  }
  return "?";
}

std::string RlimitText(uint64_t value) { return value == RLIM_INFINITY ? "unlimited" : std::to_string(value); }

Status ValidatePolicy(const Policy& policy) {
  std::vector<std::string> problems;

  if (!policy.ns.mount) problems.push_back("namespaces.mount cannot be disabled (the mount namespace is always used)");
  if (policy.net.mode == NetMode::kHost && policy.ns.net) {
    problems.push_back("network.mode = \"host\" needs namespaces.net = false (inconsistent)");
  }
  if (policy.net.mode != NetMode::kHost && !policy.ns.net) {
    problems.push_back(std::string("namespaces.net = false shares the host network, but network.mode = \"") +
                       NetModeName(policy.net.mode) + "\" (inconsistent; use mode \"host\")");
  }
  if (!policy.net.allow.empty() && policy.net.mode != NetMode::kUser) {
    problems.push_back("network.allow needs network.mode = \"user\"");
  }
  for (int port : policy.net.listen) {
    if (port < 1 || port > 65535) problems.push_back("network.listen: " + std::to_string(port) + " is not a TCP port (1-65535)");
  }
  for (const std::string& a : policy.net.allow) {
    if (!ValidNetAllow(a)) problems.push_back("network.allow: bad destination '" + a + "' (expected HOST:PORT or CIDR:PORT)");
  }
  if (!policy.ns.uts && !policy.hostname.empty()) {
    problems.push_back("process.hostname is set but namespaces.uts = false (set hostname = \"\")");
  }
  if (policy.hostname.size() > 64) problems.push_back("process.hostname is longer than 64 characters");
  if (policy.hostname.find_first_of("/ \t\n") != std::string::npos || policy.hostname.find('\0') != std::string::npos) {
    problems.push_back("process.hostname contains '/', whitespace or NUL");
  }
  if (policy.allow_nested_userns && !policy.ns.user) {
    problems.push_back("weaken.nested_userns needs namespaces.user = true");
  }

  CheckMounts(policy, problems);
  for (const auto& [key, value] : {std::pair{"tmp_size", &policy.tmp_size}, std::pair{"shm_size", &policy.shm_size},
                                    std::pair{"home_size", &policy.home_size}}) {
    if (auto size = ParseSize(*value); !size) {
      problems.push_back(std::string("filesystem.") + key + ": " + size.error().message());
    } else if (*size == 0) {
      problems.push_back(std::string("filesystem.") + key + " must be > 0");
    }
  }
  if (policy.tmpfs_inodes == 0) problems.push_back("filesystem.tmpfs_inodes must be > 0");
  if (!policy.home.empty()) {  // empty = no private home directory
    if (std::string p = PathProblem(policy.home); !p.empty()) problems.push_back("filesystem.home " + p);
  }
  if (policy.chdir) {
    if (std::string p = PathProblem(*policy.chdir); !p.empty()) problems.push_back("filesystem.chdir " + p);
  }

  for (int fd : policy.pass_fds) {
    if (fd < 3) problems.push_back("process.pass_fds: " + std::to_string(fd) + " (stdio 0-2 are always passed; fds must be >= 3)");
  }
  for (const std::string& k : policy.env_keep) {
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos) {
      problems.push_back("process.env_keep: bad variable name '" + k + "'");
    }
  }
  for (const auto& [k, v] : policy.env_set) {
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos ||
        v.find('\0') != std::string::npos) {
      problems.push_back("process.env: bad variable '" + k + "'");
    }
  }

  if (policy.seccomp.requirement == Requirement::kDisabled &&
      (!policy.seccomp.allow.empty() || !policy.seccomp.deny.empty())) {
    problems.push_back("seccomp.mode = \"disabled\" but seccomp.allow/deny are set (inconsistent)");
  }
  if (policy.seccomp.requirement != Requirement::kDisabled && policy.seccomp.base.empty()) {
    problems.push_back("seccomp.base is empty");
  }
  if (policy.landlock.min_abi < 1 || policy.landlock.min_abi > kMaxLandlockAbi) {
    problems.push_back("landlock.min_abi must be between 1 and " + std::to_string(kMaxLandlockAbi) + " (got " +
                       std::to_string(policy.landlock.min_abi) + ")");
  }
  CheckLimits(policy.limits, problems);

  if (problems.empty()) return Ok();
  std::string message = "policy '" + policy.name + "' has " + std::to_string(problems.size()) + " problem(s):";
  for (const std::string& p : problems) message += "\n  " + p;
  return MakeError(message);
}

}  // namespace airlock
