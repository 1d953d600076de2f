#include "monitor/monitor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/openat2.h>
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

#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/unique_fd.h"
#include "monitor/json_line.h"

namespace airlock {
namespace {

UniqueFd OpenMem(pid_t pid) {
  char path[48];
  std::snprintf(path, sizeof path, "/proc/%d/mem", static_cast<int>(pid));
  return UniqueFd(::open(path, O_RDONLY | O_CLOEXEC));
}

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

// /proc/PID/<name> read whole with plain syscalls (status, cmdline: a few KiB at most here).
std::string ReadProcFile(pid_t pid, const char* name) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/%s", static_cast<int>(pid), name);
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  std::string out;
  if (!fd) return out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || out.size() > (1u << 20)) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string CmdLine(pid_t pid) {
  std::string c = ReadProcFile(pid, "cmdline");
  while (!c.empty() && c.back() == '\0') c.pop_back();
  for (char& ch : c)
    if (ch == '\0') ch = ' ';
  return c;
}

// readlink of /proc/PID/<what> with a stack path.
std::string ProcLinkC(pid_t pid, const char* what) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/%s", static_cast<int>(pid), what);
  char buf[4096];
  ssize_t n = ::readlink(path, buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

std::string FdPath(pid_t pid, int fd) {
  char what[32];
  std::snprintf(what, sizeof what, "fd/%d", fd);
  return ProcLinkC(pid, what);
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
  std::string base = static_cast<int>(dirfd) == AT_FDCWD ? ProcLinkC(pid, "cwd") : FdPath(pid, static_cast<int>(dirfd));
  if (path.empty()) return base;
  if (base.empty()) return path;
  return base == "/" ? "/" + path : base + "/" + path;
}

const char* OpenOperation(uint64_t flags) {
  if (flags & O_CREAT) return "create";
  if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return "write-open";
  return "read";
}

struct Address {
  std::string ip, unix_path, family;
  int port = -1;
  bool ipv6 = false;
};

bool ReadAddress(int memfd, uint64_t addr, uint64_t len, Address& out) {
  sockaddr_storage ss{};
  if (len > sizeof ss) len = sizeof ss;
  if (len < sizeof(sa_family_t) || !ReadRemote(memfd, addr, &ss, len)) return false;
  char ip[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET && len >= sizeof(sockaddr_in)) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    out.ip = ip;
    out.port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
    out.ip = ip;
    out.port = ntohs(in6->sin6_port);
    out.ipv6 = true;
  } else if (ss.ss_family == AF_UNIX) {
    auto* un = reinterpret_cast<sockaddr_un*>(&ss);
    size_t plen = len - offsetof(sockaddr_un, sun_path);
    std::string p(un->sun_path, strnlen(un->sun_path, plen));
    if (plen > 0 && un->sun_path[0] == '\0') p = "@" + std::string(un->sun_path + 1, strnlen(un->sun_path + 1, plen - 1));
    out.unix_path = p;
  }
  out.family = ss.ss_family == AF_INET ? "AF_INET" : ss.ss_family == AF_INET6 ? "AF_INET6" : ss.ss_family == AF_UNIX ? "AF_UNIX" : std::to_string(ss.ss_family);
  return !out.ip.empty() || ss.ss_family == AF_UNIX;
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

// True when /proc/PID/exe is the same file as our own executable: the payload before its first
// execve is a clone of airlock's sandbox init (src/sandbox/child.h).
bool IsAirlockItself(pid_t pid) {
  static const struct stat self = [] {
    struct stat st {};
    ::stat("/proc/self/exe", &st);
    return st;
  }();
  char path[48];
  std::snprintf(path, sizeof path, "/proc/%d/exe", static_cast<int>(pid));
  struct stat st {};
  return self.st_ino != 0 && ::stat(path, &st) == 0 && st.st_dev == self.st_dev && st.st_ino == self.st_ino;
}

// Whether an execve of `target` (absolute, as the sandbox sees it) can start a program: a regular
// file with an execute bit, looked up inside the process's root (RESOLVE_IN_ROOT: the sandbox's own
// symlinks never lead out of it; O_PATH opens nothing; /proc paths are taken as they are). A failed execve along PATH is no process
// creation. When the lookup itself is impossible (no openat2), the call is reported as before.
bool ExecTargetRuns(pid_t pid, const std::string& target) {
  if (target.rfind("/proc/", 0) == 0) return true;  // /proc/self/fd/N (fileless): magic links, not looked up
  char root[48];
  std::snprintf(root, sizeof root, "/proc/%d/root", static_cast<int>(pid));
  UniqueFd rootfd(::open(root, O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return true;
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT;
  int fd = static_cast<int>(::syscall(SYS_openat2, rootfd.get(), target.c_str(), &how, sizeof how));
  if (fd < 0) return errno != ENOENT && errno != ENOTDIR && errno != ELOOP && errno != EACCES && errno != ENAMETOOLONG;
  UniqueFd file(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return true;
  return S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

std::string_view BaseName(std::string_view p) {
  auto slash = p.find_last_of('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

// Interpreters whose first non-option argument is the script they run.
bool IsInterpreter(std::string_view base) {
  for (std::string_view i : {"sh", "bash", "dash", "zsh", "ksh", "ash", "busybox", "perl", "ruby", "node", "php", "lua"})
    if (base == i) return true;
  return base.rfind("python", 0) == 0;
}

// The argv of an execve (at most 64 arguments, 8 KiB in all).
std::vector<std::string> ReadArgv(int memfd, uint64_t argv_addr) {
  std::vector<std::string> argv;
  size_t total = 0;
  for (int i = 0; i < 64 && argv_addr && total <= 8192; ++i) {
    uint64_t p = 0;
    if (!ReadRemote(memfd, argv_addr + 8u * static_cast<uint64_t>(i), &p, sizeof p) || p == 0) break;
    argv.push_back(ReadString(memfd, p, 4096));
    total += argv.back().size() + 1;
  }
  return argv;
}

// The environment variables of an execve that rules look at (at most 512 entries looked at, each
// read only when its first 4 bytes match): HIST* (HISTFILE, HISTSIZE, ...; "; "-joined, 256 bytes at
// most: a script that disables its history exports them to its children) and LD_PRELOAD.
struct NotableEnv {
  std::string history, preload;
};
NotableEnv ReadNotableEnv(int memfd, uint64_t envp_addr) {
  NotableEnv out;
  for (uint64_t i = 0; envp_addr != 0 && i < 512; ++i) {
    uint64_t p = 0;
    if (!ReadRemote(memfd, envp_addr + 8 * i, &p, sizeof p) || p == 0) break;
    char head[4] = {};
    if (!ReadRemote(memfd, p, head, 4)) continue;
    if (std::memcmp(head, "HIST", 4) == 0) {
      std::string kv = ReadString(memfd, p, 128);
      if (out.history.size() + kv.size() > 256) continue;
      out.history += out.history.empty() ? "" : "; ";
      out.history += kv;
    } else if (std::memcmp(head, "LD_P", 4) == 0) {
      std::string kv = ReadString(memfd, p, 512);
      if (kv.rfind("LD_PRELOAD=", 0) == 0 && kv.size() > 11) out.preload = kv.substr(11);
    }
  }
  return out;
}

// utimensat's times[1] (the modification time) as a "YYYY-mm-dd HH:MM:SS" UTC text, and whether it
// (or the access time) lies more than an hour in the past: an explicit old time is timestomping.
bool ReadUtimens(int memfd, uint64_t addr, std::string& mtime_text) {
  timespec ts[2]{};
  if (addr == 0 || !ReadRemote(memfd, addr, ts, sizeof ts)) return false;
  const time_t limit = ::time(nullptr) - 3600;
  bool past = false;
  for (const timespec& t : ts) {
    if (t.tv_nsec == UTIME_NOW || t.tv_nsec == UTIME_OMIT) continue;
    past |= t.tv_sec < limit;
  }
  if (ts[1].tv_nsec != UTIME_NOW && ts[1].tv_nsec != UTIME_OMIT) {
    struct tm tm {};
    char buf[32];
    if (::gmtime_r(&ts[1].tv_sec, &tm) && std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm) > 0) mtime_text = buf;
  }
  return past;
}

}  // namespace

std::string ReadRemoteString(pid_t pid, uint64_t addr, size_t max) {
  UniqueFd mem = OpenMem(pid);
  return ReadString(mem.get(), addr, max);
}

std::string ProcLink(pid_t pid, const std::string& what) { return ProcLinkC(pid, what.c_str()); }

Monitor::ProcInfo& Monitor::Info(pid_t pid) {
  auto it = procs_.find(pid);
  if (it != procs_.end()) return it->second;
  if (procs_.size() > 8192) procs_.clear();  // bounded: a fork storm cannot grow this without limit
  ProcInfo info;
  info.mem = OpenMem(pid);
  info.image = ProcLinkC(pid, "exe");
  // The pre-exec child: our own executable, or (unprivileged supervisor, not dumpable) an unreadable
  // one before the payload ever started.
  info.sandbox_init = IsAirlockItself(pid) || (info.image.empty() && !payload_started_);
  if (info.sandbox_init) info.image = kSandboxInitName;
  std::string status = ReadProcFile(pid, "status");
  info.inside_pid = InsidePid(status);
  std::string ppid_host = StatusField(status, "PPid");
  info.inside_ppid = ppid_host.empty() || ppid_host == "0" ? "0" : InsidePid(ReadProcFile(std::stoi(ppid_host), "status"));
  return procs_.emplace(pid, std::move(info)).first->second;
}

std::string Monitor::Decode(const NotifyEvent& event) { return Format(event) ? line_ : std::string(); }

bool Monitor::Format(const NotifyEvent& ev) {
  const seccomp_data& d = *ev.data;
  const pid_t pid = ev.pid;
  auto a = [&d](int i) { return d.args[i]; };
  ProcInfo* info = &Info(pid);
  // A cached entry whose memory no longer reads belongs to a process that has gone (its pid was
  // reused): refresh it once.
  auto str = [&](uint64_t addr, size_t max = 4096) {
    std::string s = ReadString(info->mem.get(), addr, max);
    char probe;
    if (s.empty() && addr != 0 && ::pread(info->mem.get(), &probe, 1, static_cast<off_t>(addr)) != 1) {
      procs_.erase(pid);
      info = &Info(pid);
      s = ReadString(info->mem.get(), addr, max);
    }
    return s;
  };
  auto path_at = [&](int dirfd_arg, int path_arg) {
    return ResolveAt(pid, dirfd_arg < 0 ? AT_FDCWD : static_cast<int64_t>(a(dirfd_arg)), str(a(path_arg)));
  };
  const std::string time = UtcTimeNow();
  // Starts an event: category, EventID (< 0: none), then the fields every event has.
  auto begin = [&](const char* category, int event_id, const std::string& image) {
    JsonLine j(line_);
    j.Str("category", category);
    if (event_id >= 0) j.Int("EventID", event_id);
    j.Str("UtcTime", time).Str("ProcessId", info->inside_pid).Str("Image", image).Str("User", user_);
    return j;
  };
  auto syscall_event = [&](const char* syscall, const std::string& args) {
    begin("syscall", -1, info->image).Str("Syscall", syscall).Str("Decision", "allowed").Str("Args", args).Finish();
    return true;
  };
  auto file_event = [&](int event_id, const char* op, const std::string& target) {
    JsonLine j = begin("file_event", event_id, info->image);
    j.Str("Operation", op).Str("TargetFilename", target);
    return j;
  };

  switch (ev.nr) {
    case SYS_execve:
    case SYS_execveat: {
      const bool at = ev.nr == SYS_execveat;
      std::string path = str(a(at ? 1 : 0));
      std::string target;
      const bool by_fd = at && path.empty() && (a(4) & AT_EMPTY_PATH);
      // The pre-exec child's memory may be unreadable (see SetPayloadCommand): its i-th execve tries
      // the i-th candidate path with the payload's argv.
      const bool from_spec = info->sandbox_init && path.empty() && !by_fd && payload_execs_ < payload_exec_.size();
      if (info->sandbox_init) ++payload_execs_;
      if (by_fd) {
        target = FdPath(pid, static_cast<int>(a(0)));
      } else {
        target = from_spec ? payload_exec_[payload_execs_ - 1] : ResolveAt(pid, at ? static_cast<int64_t>(a(0)) : AT_FDCWD, path);
        if (!ExecTargetRuns(pid, target)) return false;  // ENOENT along PATH: nothing was created
      }
      if (!path.empty() || by_fd) payload_started_ = true;
      const std::vector<std::string> argv = from_spec ? payload_argv_ : ReadArgv(info->mem.get(), a(at ? 2 : 1));
      std::string cmdline;
      for (const auto& arg : argv) {
        if (!cmdline.empty()) cmdline += ' ';
        cmdline += arg;
      }
      const std::string cwd = from_spec ? payload_cwd_ : ProcLinkC(pid, "cwd");
      // The process calling execve becomes the new image. After fork+exec the image being replaced
      // is a copy of the parent: it stands as ParentImage, with the creator's parent as parent pid.
      JsonLine j = begin("process_creation", 1, target);
      j.Str("CommandLine", cmdline).Str("CurrentDirectory", cwd).Str("ParentImage", info->image);
      j.Str("ParentCommandLine", info->sandbox_init ? std::string(kSandboxInitName) : CmdLine(pid)).Str("ParentProcessId", info->inside_ppid);
      if (target.rfind("/memfd:", 0) == 0 || target.find("(deleted)") != std::string::npos) j.Str("Fileless", "true");
      std::string_view argv0 = argv.empty() ? std::string_view() : std::string_view(argv[0]);
      if (!argv0.empty() && argv0[0] == '-') argv0.remove_prefix(1);  // login shells
      if (!argv.empty() && !by_fd && target.rfind("/proc/", 0) != 0 && BaseName(argv0) != BaseName(target)) {
        j.Str("Argv0", argv[0]).Str("Argv0Differs", "true");
      }
      const NotableEnv env = ReadNotableEnv(info->mem.get(), a(at ? 3 : 2));
      if (!env.history.empty()) j.Str("HistoryEnv", env.history);
      if (!env.preload.empty()) j.Str("LdPreload", env.preload);
      j.Finish();
      if (IsInterpreter(BaseName(target))) {
        for (size_t i = 1; i < argv.size(); ++i) {
          if (argv[i] == "-c" || argv[i] == "-e" || argv[i] == "-m" || argv[i] == "-") break;
          if (argv[i].empty() || argv[i][0] == '-') continue;
          RememberScript(argv[i][0] == '/' ? argv[i] : (cwd == "/" ? "" : cwd) + "/" + argv[i]);
          break;
        }
      }
      if (target.rfind(std::string(kStandinDir) + "/", 0) == 0) {
        Emit(line_);
        begin("tool_invocation", -1, target).Str("Tool", std::string(BaseName(target))).Str("CommandLine", cmdline)
            .Str("ParentImage", info->image).Finish();
      }
      // After this execve the process has a new image and a new address space: forget both.
      procs_.erase(pid);
      return true;
    }
    case SYS_open:
    case SYS_creat:
    case SYS_openat:
    case SYS_openat2: {
      std::string path;
      uint64_t flags = 0;
      if (ev.nr == SYS_open) {
        path = path_at(-1, 0);
        flags = a(1);
      } else if (ev.nr == SYS_creat) {
        path = path_at(-1, 0);
        flags = O_CREAT | O_WRONLY | O_TRUNC;
      } else {
        path = path_at(0, 1);
        if (ev.nr == SYS_openat) {
          flags = a(2);
        } else {
          uint64_t how[3] = {};
          if (ReadRemote(info->mem.get(), a(2), how, sizeof how)) flags = how[0];
        }
      }
      const char* op = OpenOperation(flags);
      const bool read = op[0] == 'r';
      JsonLine j = begin(read ? "file_access" : "file_event", read ? 0 : 11, info->image);
      j.Str("Operation", op).Str("TargetFilename", path);
      if (flags & O_TRUNC) j.Str("Truncate", "true");
      j.Finish();
      return true;
    }
    case SYS_unlink:
    case SYS_unlinkat: {
      std::string target = ev.nr == SYS_unlink ? path_at(-1, 0) : path_at(0, 1);
      JsonLine j = file_event(23, "delete", target);
      if (target == info->image || scripts_.contains(target)) j.Str("SelfDelete", "true");
      j.Finish();
      return true;
    }
    case SYS_rename:
    case SYS_renameat:
    case SYS_renameat2:
    case SYS_link:
    case SYS_linkat:
    case SYS_symlink:
    case SYS_symlinkat: {
      std::string src, dst;
      if (ev.nr == SYS_symlink) {
        src = str(a(0));
        dst = path_at(-1, 1);
      } else if (ev.nr == SYS_symlinkat) {
        src = str(a(0));
        dst = path_at(1, 2);
      } else if (ev.nr == SYS_rename || ev.nr == SYS_link) {
        src = path_at(-1, 0);
        dst = path_at(-1, 1);
      } else {
        src = path_at(0, 1);
        dst = path_at(2, 3);
      }
      const bool rename = ev.nr == SYS_rename || ev.nr == SYS_renameat || ev.nr == SYS_renameat2;
      file_event(11, rename ? "rename" : "link", dst).Str("SourceFilename", src).Finish();
      return true;
    }
    case SYS_chmod:
    case SYS_fchmod:
    case SYS_fchmodat: {
      std::string path;
      uint64_t mode = 0;
      if (ev.nr == SYS_chmod) {
        path = path_at(-1, 0);
        mode = a(1);
      } else if (ev.nr == SYS_fchmod) {
        path = FdPath(pid, static_cast<int>(a(0)));
        mode = a(1);
      } else {
        path = path_at(0, 1);
        mode = a(2);
      }
      JsonLine j = file_event(11, "chmod", path);
      j.Str("Mode", fmt::format("{:o}", mode & 07777));
      if (mode & (S_ISUID | S_ISGID)) j.Str("SetuidBits", "true");
      j.Finish();
      return true;
    }
    case SYS_utimensat: {
      // utimensat(fd, NULL, ...) is futimens: the target is the descriptor itself.
      JsonLine j = file_event(11, "timestamp", a(1) == 0 ? FdPath(pid, static_cast<int>(a(0))) : path_at(0, 1));
      std::string mtime;
      if (ReadUtimens(info->mem.get(), a(2), mtime)) j.Str("Backdated", "true");
      if (!mtime.empty()) j.Str("CreationUtcTime", mtime);
      j.Finish();
      return true;
    }
    case SYS_truncate:
      file_event(11, "truncate", path_at(-1, 0)).Finish();
      return true;
    case SYS_connect:
    case SYS_sendto: {
      const bool connect = ev.nr == SYS_connect;
      if (!connect && a(4) == 0) return false;  // connected socket: the connect was recorded
      Address addr;
      if (!ReadAddress(info->mem.get(), connect ? a(1) : a(4), connect ? a(2) : a(5), addr)) return false;
      if (!connect && addr.port == 53) {
        size_t len = std::min<uint64_t>(a(2), 512);
        std::string pkt(len, '\0');
        if (ReadRemote(info->mem.get(), a(1), pkt.data(), len)) {
          std::string q = DnsQueryName(pkt);
          if (!q.empty()) {
            begin("dns_query", 22, info->image).Str("QueryName", q).Finish();
            Emit(line_);
          }
        }
      }
      // Unix sockets are local IPC (nscd, D-Bus, docker.sock), not network connections: Sysmon does not
      // log them, and Sigma rules about network_connection would fire on every name lookup.
      const bool unix_socket = addr.ip.empty();
      JsonLine j = unix_socket ? begin("unix_connection", -1, info->image) : begin("network_connection", 3, info->image);
      j.Str("Initiated", "true").Str("Protocol", SocketProtocol(pid, static_cast<int>(a(0))));
      if (!addr.ip.empty()) {
        j.Str("DestinationIp", addr.ip).Int("DestinationPort", addr.port).Str("DestinationIsIpv6", addr.ipv6 ? "true" : "false");
      } else {
        j.Str("DestinationUnixPath", addr.unix_path);
      }
      j.Str("SocketFamily", addr.family).Finish();
      return true;
    }
    case SYS_memfd_create:
      return syscall_event("memfd_create", str(a(0), 256));
    case SYS_prctl:
      if (a(0) != PR_SET_NAME) return false;
      return syscall_event("prctl", "PR_SET_NAME " + str(a(1), 16));
    default:
      begin("syscall", -1, info->image).Str("Syscall", ev.name).Str("Decision", "allowed").Finish();
      return true;
  }
}

void Monitor::RememberScript(const std::string& path) {
  if (scripts_.size() >= 4096 || path.size() > 4096) return;
  scripts_.insert(path);
}

void Monitor::Emit(const std::string& line) {
  ++events_;
  sink_.Push(line);
}

NotifyAnswer Monitor::Observe(const NotifyEvent& event) {
  if (Format(event)) Emit(line_);
  return NotifyAnswer{};
}

void Monitor::ObserveDenied(const NotifyEvent& event) {
  std::string status = ReadProcFile(event.pid, "status");
  const seccomp_data& d = *event.data;
  JsonLine(line_)
      .Str("category", "syscall")
      .Str("UtcTime", UtcTimeNow())
      .Str("ProcessId", InsidePid(status))
      .Str("Image", ProcLinkC(event.pid, "exe"))
      .Str("User", user_)
      .Str("Syscall", event.name)
      .Str("Decision", "denied")
      .Str("Args", fmt::format("{:#x} {:#x} {:#x}", d.args[0], d.args[1], d.args[2]))
      .Finish();
  Emit(line_);
}

}  // namespace airlock
