#include "audit/host_paths.h"

#include <array>
#include <filesystem>
#include <string_view>

namespace airlock::audit {
namespace {

struct Sensitive {
  std::string_view path;
  std::string_view why;
  std::string_view technique;
};

constexpr std::array<Sensitive, 5> kSockets = {{
    {"/var/run/docker.sock", "the Docker daemon socket (full control of the host)", "T1610"},
    {"/run/docker.sock", "the Docker daemon socket (full control of the host)", "T1610"},
    {"/run/containerd", "the containerd socket directory", "T1610"},
    {"/var/run/containerd", "the containerd socket directory", "T1610"},
    {"/var/run/crio", "the CRI-O socket directory", "T1610"},
}};

constexpr std::array<Sensitive, 10> kSystem = {{
    {"/etc", "host configuration (passwd, shadow, sudoers, cron)", "T1611"},
    {"/root", "root's home (ssh keys, credentials)", "T1611"},
    {"/home", "users' homes (ssh keys, credentials)", "T1611"},
    {"/proc", "the host's procfs (sysrq-trigger, core_pattern, other processes)", "T1611"},
    {"/sys", "the host's sysfs (cgroup release_agent, devices, kernel knobs)", "T1611"},
    {"/dev", "the host's device nodes (disks, memory)", "T1611"},
    {"/boot", "kernels and boot loader", "T1611"},
    {"/var/lib/kubelet", "kubelet state and pod secrets", "T1552.001"},
    {"/var/lib/docker", "container images and volumes of the host", "T1611"},
    {"/usr", "host executables and libraries (trojaned binaries run by the host)", "T1611"},
}};

bool Under(std::string_view path, std::string_view base) {
  if (path == base) return true;
  return path.size() > base.size() && path.substr(0, base.size()) == base && path[base.size()] == '/';
}

}  // namespace

std::string NormalizeHostPath(const std::string& path) {
  if (path.empty()) return path;
  std::string s = std::filesystem::path(path).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

PathRisk WritableHostPathRisk(const std::string& raw) {
  std::string path = NormalizeHostPath(raw);
  if (path == "/") return {Severity::kCritical, "T1611", "the host's root filesystem"};
  for (const Sensitive& s : kSockets) {
    if (Under(path, s.path) || Under(s.path, path)) {
      return {Severity::kCritical, std::string(s.technique), std::string(s.why)};
    }
  }
  // A project directory below a user's home is an ordinary writable bind; the home itself and its
  // dot directories (.ssh, .aws, .config: keys, shell rc files) are not.
  if (Under(path, "/home") && path != "/home") {
    size_t user_end = path.find('/', 6);
    bool home_itself = user_end == std::string::npos;
    bool dot_dir = path.find("/.", 6) != std::string::npos;
    if (!home_itself && !dot_dir) {
      return {Severity::kMedium, "T1611", "a writable host directory (persistence, tampering with host files)"};
    }
  }
  for (const Sensitive& s : kSystem) {
    if (Under(path, s.path) || Under(s.path, path)) {
      return {Severity::kCritical, std::string(s.technique), std::string(s.why)};
    }
  }
  return {Severity::kMedium, "T1611", "a writable host directory (persistence, tampering with host files)"};
}

std::optional<PathRisk> ReadOnlyHostPathRisk(const std::string& raw) {
  std::string path = NormalizeHostPath(raw);
  for (const Sensitive& s : kSockets) {
    if (Under(path, s.path) || Under(s.path, path)) {
      return PathRisk{Severity::kCritical, std::string(s.technique),
                      std::string(s.why) + "; sockets stay usable on read-only mounts"};
    }
  }
  constexpr std::array<std::string_view, 11> kSecret = {"/",          "/etc",        "/root",
                                                        "/home",      "/proc",       "/sys",
                                                        "/etc/shadow", "/etc/gshadow", "/etc/sudoers",
                                                        "/var/lib/kubelet", "/etc/ssl/private"};
  for (std::string_view s : kSecret) {
    bool hit = path == s || (s != "/" && s != "/etc" && Under(path, s));
    if (hit) return PathRisk{Severity::kHigh, "T1552.001", "host secrets or host state become readable"};
  }
  return std::nullopt;
}

}  // namespace airlock::audit
