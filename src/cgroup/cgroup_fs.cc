#include "cgroup/cgroup_fs.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <sstream>

#include "core/log.h"
#include "core/unique_fd.h"

namespace airlock::cgroupfs {
namespace {

constexpr size_t kMaxControlFile = 64 * 1024;

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct CgroupMount {
  bool v2 = false;
  std::string root;
  std::string mount_point;
  std::vector<std::string> options;  // super options (v1: contain the controllers)
};

std::vector<CgroupMount> ParseMounts(std::string_view mountinfo) {
  std::vector<CgroupMount> mounts;
  for (auto line : Split(mountinfo, '\n')) {
    // id parent major:minor root mount_point options [optional...] - fstype source super_options
    auto sep = line.find(" - ");
    if (sep == std::string_view::npos) continue;
    auto left = Split(line.substr(0, sep), ' ');
    auto right = Split(line.substr(sep + 3), ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    CgroupMount m;
    if (right[0] == "cgroup2") {
      m.v2 = true;
    } else if (right[0] != "cgroup") {
      continue;
    }
    m.root = Unescape(left[3]);
    m.mount_point = Unescape(left[4]);
    for (auto o : Split(right[2], ',')) m.options.emplace_back(o);
    mounts.push_back(std::move(m));
  }
  return mounts;
}

// Our directory inside a mount whose root is `root`, or nullopt when the mount does not contain it.
std::optional<std::string> DirUnder(const CgroupMount& m, const std::string& path) {
  if (path.find("/..") != std::string::npos) return std::nullopt;  // outside our cgroup namespace
  std::string rel;
  if (m.root == "/") {
    rel = path;
  } else if (path == m.root) {
    rel = "/";
  } else if (path.size() > m.root.size() && path.compare(0, m.root.size(), m.root) == 0 && path[m.root.size()] == '/') {
    rel = path.substr(m.root.size());
  } else {
    return std::nullopt;
  }
  if (rel == "/") return m.mount_point;
  return m.mount_point + rel;
}

}  // namespace

bool Hierarchy::Has(std::string_view controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

std::vector<Hierarchy> ParseHierarchies(std::string_view mountinfo, std::string_view proc_self_cgroup) {
  auto mounts = ParseMounts(mountinfo);
  std::vector<Hierarchy> out;
  for (auto line : Split(proc_self_cgroup, '\n')) {
    // hierarchy-id:controller-list:path (the path may itself contain ':')
    auto c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view id = line.substr(0, c1);
    std::string_view ctrl = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path(line.substr(c2 + 1));
    if (path.empty() || path[0] != '/') continue;
    Hierarchy h;
    h.v2 = (id == "0" && ctrl.empty());
    if (!h.v2) {
      if (ctrl.empty()) continue;
      for (auto c : Split(ctrl, ',')) h.controllers.emplace_back(c);
    }
    for (const auto& m : mounts) {
      if (m.v2 != h.v2) continue;
      if (!h.v2) {
        bool all = std::all_of(h.controllers.begin(), h.controllers.end(), [&m](const std::string& c) {
          return std::find(m.options.begin(), m.options.end(), c) != m.options.end();
        });
        if (!all) continue;
      }
      auto dir = DirUnder(m, path);
      if (!dir) continue;
      h.mount_point = m.mount_point;
      h.own_dir = *dir;
      break;
    }
    if (!h.own_dir.empty()) out.push_back(std::move(h));
  }
  return out;
}

std::vector<Hierarchy> DiscoverHierarchies() {
  auto mountinfo = ReadFileCapped("/proc/self/mountinfo", 16u << 20);
  auto self = ReadFile("/proc/self/cgroup");
  if (!mountinfo || !self) return {};
  auto hs = ParseHierarchies(*mountinfo, *self);
  const std::string leaf = "/" + SelfLeafName();
  for (auto& h : hs) {
    if (!h.v2) continue;
    if (h.own_dir.size() > leaf.size() && h.own_dir.ends_with(leaf)) h.own_dir.resize(h.own_dir.size() - leaf.size());
    auto c = ReadFile(h.own_dir + "/cgroup.controllers");
    if (!c) continue;
    std::istringstream in(*c);
    std::string word;
    while (in >> word) h.controllers.push_back(word);
  }
  return hs;
}

std::vector<Hierarchy> RecentHierarchies() {
  static std::mutex mutex;
  static pid_t of = 0;
  static std::chrono::steady_clock::time_point read_at;
  static std::vector<Hierarchy> cached;
  std::lock_guard<std::mutex> lock(mutex);
  const auto now = std::chrono::steady_clock::now();
  if (of != ::getpid() || now - read_at > std::chrono::seconds(1)) {
    cached = DiscoverHierarchies();
    of = ::getpid();
    read_at = now;
  }
  return cached;
}

Result<std::string> ReadFile(const std::string& path) { return ReadFileCapped(path, kMaxControlFile); }

Result<std::string> ReadFileCapped(const std::string& path, size_t cap) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + path);
  std::string out;
  char buf[4096];
  while (out.size() < cap) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status WriteFile(const std::string& path, std::string_view value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + path);
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError("write '" + std::string(value) + "' to " + path);
  if (static_cast<size_t>(n) != value.size()) return MakeError("short write to " + path, EIO);
  return Ok();
}

std::optional<uint64_t> ReadKeyed(const std::string& path, std::string_view key) {
  auto text = ReadFile(path);
  if (!text) return std::nullopt;
  for (auto line : Split(*text, '\n')) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ' ') {
      auto v = line.substr(key.size() + 1);
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec == std::errc()) return n;
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> ReadNumber(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return std::nullopt;
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc()) return std::nullopt;
  return n;
}

std::vector<pid_t> ReadProcs(const std::string& dir) {
  std::vector<pid_t> pids;
  auto text = ReadFile(dir + "/cgroup.procs");
  if (!text) return pids;
  for (auto line : Split(*text, '\n')) {
    pid_t pid = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (ec == std::errc() && pid > 0) pids.push_back(pid);
  }
  return pids;
}

bool KillAndRemoveDir(const std::string& path) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto pids = ReadProcs(path);
    if (!pids.empty()) {
      if (Exists(path + "/cgroup.kill")) (void)WriteFile(path + "/cgroup.kill", "1");
      for (pid_t p : pids) ::kill(p, SIGKILL);
    }
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY) {
      LogDebug("cgroup gc: rmdir {}: {}", path, std::strerror(errno));
      return false;
    }
    struct timespec ts {0, 10 * 1000000L};
    ::nanosleep(&ts, nullptr);
  }
  return false;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

pid_t CreatorPidFromName(std::string_view name) {
  constexpr std::string_view kPrefix = "airlock-";
  if (name.substr(0, kPrefix.size()) != kPrefix) return 0;
  name.remove_prefix(kPrefix.size());
  pid_t pid = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (ec != std::errc() || pid <= 0 || p == name.data() + name.size() || *p != '-') return 0;
  return pid;
}

uint64_t CreatorStartFromName(std::string_view name) {
  if (CreatorPidFromName(name) <= 0) return 0;
  name.remove_prefix(name.find('-', 8) + 1);  // after "airlock-<pid>-"
  if (name.empty() || name[0] != 's') return 0;
  name.remove_prefix(1);
  uint64_t start = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), start);
  if (ec != std::errc() || p == name.data() + name.size() || *p != '-') return 0;
  return start;
}

std::string SelfLeafName() { return "airlock-" + std::to_string(::getpid()) + "-s" + std::to_string(OwnStartTime()) + "-self"; }

uint64_t OwnStartTime() {
  static std::mutex mutex;
  static pid_t of = 0;
  static uint64_t start = 0;
  std::lock_guard<std::mutex> lock(mutex);
  if (of != ::getpid()) {
    of = ::getpid();
    start = ProcessStartTime(of);
  }
  return start;
}

uint64_t ProcessStartTime(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  std::string_view stat(buf, static_cast<size_t>(n));
  size_t p = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (p == std::string_view::npos) return 0;
  // Fields after the name start at 3 (state); the start time is field 22.
  stat.remove_prefix(p + 1);
  for (int field = 2; field < 22; ++field) {
    size_t sp = stat.find(' ');
    if (sp == std::string_view::npos) return 0;
    stat.remove_prefix(sp + 1);
  }
  uint64_t start = 0;
  auto [q, ec] = std::from_chars(stat.data(), stat.data() + stat.size(), start);
  (void)q;
  return ec == std::errc() ? start : 0;
}

}  // namespace airlock::cgroupfs
