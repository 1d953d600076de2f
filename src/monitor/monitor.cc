#include "monitor/monitor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/unique_fd.h"

namespace airlock {
namespace {

UniqueFd OpenMem(pid_t pid) { return UniqueFd(::open(fmt::format("/proc/{}/mem", pid).c_str(), O_RDONLY | O_CLOEXEC)); }

bool ReadRemote(int memfd, uint64_t addr, void* buf, size_t len) {
  return ::pread(memfd, buf, len, static_cast<off_t>(addr)) == static_cast<ssize_t>(len);
}

std::string ReadString(int memfd, uint64_t addr, size_t max) {
  std::string out;
  if (addr == 0 || memfd < 0) return out;
  char buf[256];
  while (out.size() < max) {
    size_t want = std::min(sizeof buf, max - out.size());
    // Do not read across a page boundary in one go: the next page may be unmapped.
    uint64_t page_left = 4096 - ((addr + out.size()) & 4095);
    if (want > page_left) want = page_left;
    ssize_t n = ::pread(memfd, buf, want, static_cast<off_t>(addr + out.size()));
    if (n <= 0) break;
    const char* nul = static_cast<const char*>(std::memchr(buf, 0, static_cast<size_t>(n)));
    if (nul) {
      out.append(buf, static_cast<size_t>(nul - buf));
      return out;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string ReadProcFile(pid_t pid, const char* name) {
  std::ifstream f(fmt::format("/proc/{}/{}", pid, name), std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string CmdLine(pid_t pid) {
  std::string c = ReadProcFile(pid, "cmdline");
  while (!c.empty() && c.back() == '\0') c.pop_back();
  for (char& ch : c)
    if (ch == '\0') ch = ' ';
  return c;
}

// Field of /proc/PID/status ("PPid", "NSpid", "Uid").
std::string StatusField(const std::string& status, const char* key) {
  std::string k = std::string(key) + ":";
  auto p = status.find(k);
  if (p == std::string::npos) return "";
  auto e = status.find('\n', p);
  std::string v = status.substr(p + k.size(), e - p - k.size());
  v.erase(0, v.find_first_not_of(" \t"));
  return v;
}

// The pid as seen inside the sandbox (last NSpid entry).
std::string InsidePid(const std::string& status) {
  std::string ns = StatusField(status, "NSpid");
  auto sp = ns.find_last_of(" \t");
  return sp == std::string::npos ? ns : ns.substr(sp + 1);
}

// Resolves a path argument of an *at() call to an absolute path as the sandbox sees it.
std::string ResolveAt(pid_t pid, int64_t dirfd, const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  std::string base = static_cast<int>(dirfd) == AT_FDCWD ? ProcLink(pid, "cwd") : ProcLink(pid, fmt::format("fd/{}", static_cast<int>(dirfd)));
  if (path.empty()) return base;
  if (base.empty()) return path;
  return base == "/" ? "/" + path : base + "/" + path;
}

std::string OpenOperation(uint64_t flags) {
  if (flags & O_CREAT) return "create";
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return "write-open";
  return "read";
}

void AddAddress(nlohmann::json& e, int memfd, uint64_t addr, uint64_t len) {
  sockaddr_storage ss{};
  if (len > sizeof ss) len = sizeof ss;
  if (len < sizeof(sa_family_t) || !ReadRemote(memfd, addr, &ss, len)) return;
  char ip[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    e["DestinationIp"] = ip;
    e["DestinationPort"] = ntohs(in->sin_port);
    e["DestinationIsIpv6"] = "false";
  } else if (ss.ss_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    e["DestinationIp"] = ip;
    e["DestinationPort"] = ntohs(in6->sin6_port);
    e["DestinationIsIpv6"] = "true";
  } else if (ss.ss_family == AF_UNIX) {
    auto* un = reinterpret_cast<sockaddr_un*>(&ss);
    size_t plen = len - offsetof(sockaddr_un, sun_path);
    std::string p(un->sun_path, strnlen(un->sun_path, plen));
    if (plen > 0 && un->sun_path[0] == '\0') p = "@" + std::string(un->sun_path + 1, strnlen(un->sun_path + 1, plen - 1));
    e["DestinationUnixPath"] = p;
  }
  e["SocketFamily"] = ss.ss_family == AF_INET ? "AF_INET" : ss.ss_family == AF_INET6 ? "AF_INET6" : ss.ss_family == AF_UNIX ? "AF_UNIX" : std::to_string(ss.ss_family);
}

std::string SocketProtocol(pid_t pid, int fd) {
  // /proc/PID/fdinfo does not carry the type; use pidfd_getfd to ask the socket itself.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return "unknown";
  int sfd = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  ::close(pidfd);
  if (sfd < 0) return "unknown";
  int type = 0;
  socklen_t len = sizeof type;
  std::string proto = "unknown";
  if (::getsockopt(sfd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) proto = type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : "other";
  ::close(sfd);
  return proto;
}

// Minimal DNS question parser: returns the first QNAME of a query packet, "" if not DNS.
std::string DnsQueryName(const std::string& pkt) {
  if (pkt.size() < 17) return "";
  size_t i = 12;
  std::string name;
  for (int labels = 0; i < pkt.size() && labels < 64; ++labels) {
    auto len = static_cast<unsigned char>(pkt[i]);
    if (len == 0) return name;
    if (len > 63 || i + 1 + len > pkt.size()) return "";
    if (!name.empty()) name += '.';
    name.append(pkt, i + 1, len);
    i += 1 + len;
  }
  return "";
}

}  // namespace

const std::vector<std::string>& MonitoredSyscalls() {
  static const std::vector<std::string> kSyscalls = {
      "execve", "execveat", "open", "openat", "openat2", "creat", "unlink", "unlinkat", "rename", "renameat",
      "renameat2", "chmod", "fchmod", "fchmodat", "link", "linkat", "symlink", "symlinkat", "connect", "sendto",
      "memfd_create", "utimensat", "truncate", "prctl"};
  return kSyscalls;
}

const std::vector<std::string>& ObservedSyscalls() {
  static const std::vector<std::string> kSyscalls = {"memfd_create", "execveat"};
  return kSyscalls;
}

std::string ReadRemoteString(pid_t pid, uint64_t addr, size_t max) {
  UniqueFd mem = OpenMem(pid);
  return ReadString(mem.get(), addr, max);
}

std::string ProcLink(pid_t pid, const std::string& what) {
  char buf[4096];
  ssize_t n = ::readlink(fmt::format("/proc/{}/{}", pid, what).c_str(), buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

std::string UtcTimeNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &t);
  return fmt::format("{}.{:03d}", buf, static_cast<int>(ts.tv_nsec / 1000000));
}

Monitor::ProcInfo& Monitor::Info(pid_t pid) {
  auto it = procs_.find(pid);
  if (it != procs_.end()) return it->second;
  if (procs_.size() > 8192) procs_.clear();  // bounded: a fork storm cannot grow this without limit
  ProcInfo info;
  info.mem = OpenMem(pid);
  info.image = ProcLink(pid, "exe");
  std::string status = ReadProcFile(pid, "status");
  info.inside_pid = InsidePid(status);
  std::string ppid_host = StatusField(status, "PPid");
  info.inside_ppid = ppid_host.empty() || ppid_host == "0" ? "0" : InsidePid(ReadProcFile(std::stoi(ppid_host), "status"));
  return procs_.emplace(pid, std::move(info)).first->second;
}

nlohmann::json Monitor::Decode(const NotifyEvent& ev) {
  const seccomp_data& d = *ev.data;
  const pid_t pid = ev.pid;
  ProcInfo& info = Info(pid);
  const int m = info.mem.get();
  const std::string image = info.image;
  nlohmann::json e;
  e["UtcTime"] = UtcTimeNow();
  e["ProcessId"] = info.inside_pid;
  e["Image"] = image;
  e["User"] = user_;
  const std::string& name = ev.name;
  auto a = [&d](int i) { return d.args[i]; };

  if (name == "execve" || name == "execveat") {
    bool at = name == "execveat";
    std::string path = ReadString(m, a(at ? 1 : 0), 4096);
    uint64_t argv_addr = a(at ? 2 : 1);
    std::string target;
    if (at && path.empty() && (a(4) & AT_EMPTY_PATH)) {
      target = ProcLink(pid, fmt::format("fd/{}", static_cast<int>(a(0))));
    } else {
      target = at ? ResolveAt(pid, static_cast<int64_t>(a(0)), path) : ResolveAt(pid, AT_FDCWD, path);
    }
    std::string cmdline;
    for (int i = 0; i < 64 && argv_addr; ++i) {
      uint64_t p = 0;
      if (!ReadRemote(m, argv_addr + 8u * static_cast<uint64_t>(i), &p, sizeof p) || p == 0) break;
      std::string arg = ReadString(m, p, 4096);
      if (!cmdline.empty()) cmdline += ' ';
      cmdline += arg;
      if (cmdline.size() > 8192) break;
    }
    e["category"] = "process_creation";
    e["EventID"] = 1;
    e["Image"] = target;
    e["CommandLine"] = cmdline;
    e["CurrentDirectory"] = ProcLink(pid, "cwd");
    // The process calling execve becomes the new image: its parent is the creator's parent, and the
    // image it replaces is recorded as well (fork+exec shells appear as ParentImage).
    // After fork+exec the image being replaced is a copy of the parent: it stands as ParentImage.
    e["ParentImage"] = image;
    e["ParentCommandLine"] = CmdLine(pid);
    e["ParentProcessId"] = info.inside_ppid;
    // After this execve the process has a new image and a new address space: forget both.
    procs_.erase(pid);
    if (target.rfind("/memfd:", 0) == 0 || target.find("(deleted)") != std::string::npos) e["Fileless"] = "true";
    return e;
  }
  if (name == "open" || name == "openat" || name == "openat2" || name == "creat") {
    std::string path;
    uint64_t flags = 0;
    if (name == "open") {
      path = ResolveAt(pid, AT_FDCWD, ReadString(m, a(0), 4096));
      flags = a(1);
    } else if (name == "creat") {
      path = ResolveAt(pid, AT_FDCWD, ReadString(m, a(0), 4096));
      flags = O_CREAT | O_WRONLY | O_TRUNC;
    } else {
      path = ResolveAt(pid, static_cast<int64_t>(a(0)), ReadString(m, a(1), 4096));
      if (name == "openat") {
        flags = a(2);
      } else {
        uint64_t how[3] = {};
        if (ReadRemote(m, a(2), how, sizeof how)) flags = how[0];
      }
    }
    std::string op = OpenOperation(flags);
    e["category"] = op == "read" ? "file_access" : "file_event";
    e["EventID"] = op == "read" ? 0 : 11;
    e["TargetFilename"] = path;
    e["Operation"] = op;
    return e;
  }
  if (name == "unlink" || name == "unlinkat") {
    e["category"] = "file_event";
    e["EventID"] = 23;
    e["Operation"] = "delete";
    e["TargetFilename"] = name == "unlink" ? ResolveAt(pid, AT_FDCWD, ReadString(m, a(0), 4096))
                                            : ResolveAt(pid, static_cast<int64_t>(a(0)), ReadString(m, a(1), 4096));
    if (e["TargetFilename"] == image) e["SelfDelete"] = "true";
    return e;
  }
  if (name == "rename" || name == "renameat" || name == "renameat2" || name == "link" || name == "linkat" ||
      name == "symlink" || name == "symlinkat") {
    bool at = name.size() > 4 && name.compare(name.size() - 2, 2, "at") == 0;
    bool at2 = name == "renameat2";
    std::string src, dst;
    if (name == "symlink") {
      src = ReadString(m, a(0), 4096);
      dst = ResolveAt(pid, AT_FDCWD, ReadString(m, a(1), 4096));
    } else if (name == "symlinkat") {
      src = ReadString(m, a(0), 4096);
      dst = ResolveAt(pid, static_cast<int64_t>(a(1)), ReadString(m, a(2), 4096));
    } else if (at || at2) {
      src = ResolveAt(pid, static_cast<int64_t>(a(0)), ReadString(m, a(1), 4096));
      dst = ResolveAt(pid, static_cast<int64_t>(a(2)), ReadString(m, a(3), 4096));
    } else {
      src = ResolveAt(pid, AT_FDCWD, ReadString(m, a(0), 4096));
      dst = ResolveAt(pid, AT_FDCWD, ReadString(m, a(1), 4096));
    }
    e["category"] = "file_event";
    e["EventID"] = 11;
    e["Operation"] = name.rfind("rename", 0) == 0 ? "rename" : "link";
    e["SourceFilename"] = src;
    e["TargetFilename"] = dst;
    return e;
  }
  if (name == "chmod" || name == "fchmod" || name == "fchmodat") {
    std::string path;
    uint64_t mode = 0;
    if (name == "chmod") {
      path = ResolveAt(pid, AT_FDCWD, ReadString(m, a(0), 4096));
      mode = a(1);
    } else if (name == "fchmod") {
      path = ProcLink(pid, fmt::format("fd/{}", static_cast<int>(a(0))));
      mode = a(1);
    } else {
      path = ResolveAt(pid, static_cast<int64_t>(a(0)), ReadString(m, a(1), 4096));
      mode = a(2);
    }
    e["category"] = "file_event";
    e["EventID"] = 11;
    e["Operation"] = "chmod";
    e["TargetFilename"] = path;
    e["Mode"] = fmt::format("{:o}", mode & 07777);
    if (mode & (S_ISUID | S_ISGID)) e["SetuidBits"] = "true";
    return e;
  }
  if (name == "utimensat" || name == "truncate") {
    e["category"] = "file_event";
    e["EventID"] = 11;
    e["Operation"] = name == "utimensat" ? "timestamp" : "truncate";
    e["TargetFilename"] = name == "truncate" ? ResolveAt(pid, AT_FDCWD, ReadString(m, a(0), 4096))
                                             : ResolveAt(pid, static_cast<int64_t>(a(0)), ReadString(m, a(1), 4096));
    return e;
  }
  if (name == "connect" || name == "sendto") {
    if (name == "sendto" && a(4) == 0) return nullptr;  // connected socket: the connect was recorded
    e["category"] = "network_connection";
    e["EventID"] = 3;
    e["Initiated"] = "true";
    e["Protocol"] = SocketProtocol(pid, static_cast<int>(a(0)));
    AddAddress(e, m, name == "connect" ? a(1) : a(4), name == "connect" ? a(2) : a(5));
    if (!e.contains("DestinationIp") && !e.contains("DestinationUnixPath")) return nullptr;
    if (name == "sendto" && e.value("DestinationPort", 0) == 53) {
      size_t len = std::min<uint64_t>(a(2), 512);
      std::string pkt(len, '\0');
      if (ReadRemote(m, a(1), pkt.data(), len)) {
        std::string q = DnsQueryName(pkt);
        if (!q.empty()) {
          nlohmann::json dns;
          dns["category"] = "dns_query";
          dns["EventID"] = 22;
          dns["UtcTime"] = e["UtcTime"];
          dns["ProcessId"] = e["ProcessId"];
          dns["Image"] = image;
          dns["QueryName"] = q;
          Emit(dns);
        }
      }
    }
    return e;
  }
  if (name == "memfd_create") {
    e["category"] = "syscall";
    e["Syscall"] = name;
    e["Decision"] = "allowed";
    e["Args"] = ReadString(m, a(0), 256);
    return e;
  }
  if (name == "prctl") {
    if (a(0) != PR_SET_NAME) return nullptr;
    e["category"] = "syscall";
    e["Syscall"] = "prctl";
    e["Decision"] = "allowed";
    e["Args"] = "PR_SET_NAME " + ReadString(m, a(1), 16);
    return e;
  }
  e["category"] = "syscall";
  e["Syscall"] = name;
  e["Decision"] = "allowed";
  return e;
}

void Monitor::Emit(nlohmann::json event) {
  ++events_;
  sink_.Push(event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

NotifyAnswer Monitor::Observe(const NotifyEvent& event) {
  nlohmann::json e = Decode(event);
  if (!e.is_null()) Emit(std::move(e));
  return NotifyAnswer{};
}

void Monitor::ObserveDenied(const NotifyEvent& event) {
  nlohmann::json e;
  e["UtcTime"] = UtcTimeNow();
  std::string status = ReadProcFile(event.pid, "status");
  e["category"] = "syscall";
  e["User"] = user_;
  e["ProcessId"] = InsidePid(status);
  e["Image"] = ProcLink(event.pid, "exe");
  e["Syscall"] = event.name;
  e["Decision"] = "denied";
  const seccomp_data& d = *event.data;
  e["Args"] = fmt::format("{:#x} {:#x} {:#x}", d.args[0], d.args[1], d.args[2]);
  Emit(std::move(e));
}

}  // namespace airlock
