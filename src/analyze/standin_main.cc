// airlock-standin: the recording stand-ins of `airlock analyze` (docs/EVENTS.md, "Tool stand-ins").
// One multi-call program, bound read-only into the analysis sandbox at /opt/airlock/standin and
// reached through symlinks in /opt/airlock/bin (first in PATH: crontab, systemctl, sudo, ...) and
// /opt/airlock/bin/fallback (last in PATH: curl, wget where the host has none). The behaviour
// monitor records each execve of /opt/airlock/bin/* as a `tool_invocation` event with its
// arguments; this program only answers plausibly so that the sample goes on:
//   - configuration tools (crontab, at, systemctl, service, useradd, passwd, iptables, modprobe, ...)
//     succeed silently or print what the real tool would, and read what they are fed on stdin;
//     crontab and at keep a copy of the job under ~/.airlock-standin/ so it is triaged as a dropped file;
//   - sudo and `su -c` run the command as the same user (the command is observed in its turn);
//   - ssh, scp, nc and the fallback curl/wget resolve the host and connect to it (the analysis
//     sinkhole answers and records); curl/wget send a GET and write the body where asked.
// It runs inside the sandbox, as the sample: it trusts nothing and bounds what it reads.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Args = std::vector<std::string>;

bool Has(const Args& a, std::string_view flag) {
  for (const auto& x : a)
    if (x == flag) return true;
  return false;
}

// Reads stdin (at most 1 MiB), unless it is a terminal.
std::string ReadStdin() {
  std::string s;
  if (::isatty(0)) return s;
  char buf[4096];
  for (ssize_t n; s.size() < (1u << 20) && (n = ::read(0, buf, sizeof buf)) > 0;) s.append(buf, static_cast<size_t>(n));
  return s;
}

std::string ReadFile(const std::string& path) {
  std::string s;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return s;
  char buf[4096];
  for (ssize_t n; s.size() < (1u << 20) && (n = ::read(fd, buf, sizeof buf)) > 0;) s.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return s;
}

// Keeps a copy of a scheduled job under ~/.airlock-standin/NAME (a dropped file the analysis triages).
void KeepCopy(const char* name, const std::string& content) {
  const char* home = std::getenv("HOME");
  std::string dir = std::string(home && *home ? home : "/tmp") + "/.airlock-standin";
  ::mkdir(dir.c_str(), 0700);
  std::string path = dir + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  if (::write(fd, content.data(), content.size()) < 0) {
  }
  ::close(fd);
}

// Connects to host:port with a timeout (the sinkhole answers every name and port); -1 on failure.
int Connect(const std::string& host, const std::string& port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (host.empty() || ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) return -1;
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, timeout_ms) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd >= 0) ::fcntl(fd, F_SETFL, 0);
  return fd;
}

// The last arguments that are not options (host and port for nc, user@host for ssh).
Args Operands(const Args& a) {
  Args out;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].size() > 1 && a[i][0] == '-') continue;
    out.push_back(a[i]);
  }
  return out;
}

int Exec(const Args& cmd) {
  if (cmd.empty()) return 0;
  std::vector<char*> argv;
  for (const auto& c : cmd) argv.push_back(const_cast<char*>(c.c_str()));
  argv.push_back(nullptr);
  ::execvp(argv[0], argv.data());
  std::fprintf(stderr, "%s: command not found\n", argv[0]);
  return 127;
}

int Sudo(const Args& a) {
  if (Has(a, "-l")) {
    std::puts("User sandbox may run the following commands on airlock:\n    (ALL : ALL) NOPASSWD: ALL");
    return 0;
  }
  if (Has(a, "-S")) ReadStdin();
  size_t i = 0;
  while (i < a.size() && a[i].size() > 1 && a[i][0] == '-') {
    const std::string& o = a[i++];
    if ((o == "-u" || o == "-g" || o == "-C" || o == "-p" || o == "-h") && i < a.size()) ++i;
  }
  if (i == a.size()) return Has(a, "-i") || Has(a, "-s") ? Exec({"/bin/sh"}) : 0;
  return Exec(Args(a.begin() + static_cast<long>(i), a.end()));
}

int Su(const Args& a) {
  for (size_t i = 0; i + 1 < a.size(); ++i)
    if (a[i] == "-c" || a[i] == "--command") return Exec({"/bin/sh", "-c", a[i + 1]});
  std::fputs("su: Authentication failure\n", stderr);
  return 1;
}

int Systemctl(const Args& a) {
  const Args ops = Operands(a);
  const std::string verb = ops.empty() ? "list-units" : ops[0];
  const std::string unit = ops.size() > 1 ? ops[1] : "";
  if (verb == "is-active") std::puts("active");
  if (verb == "is-enabled") std::puts("enabled");
  if (verb == "status") std::printf("* %s\n     Loaded: loaded\n     Active: active (running)\n", unit.c_str());
  if (verb == "list-units" || verb == "list-unit-files") std::puts("UNIT              LOAD   ACTIVE SUB     DESCRIPTION\ncron.service      loaded active running Regular background program processing daemon\nssh.service       loaded active running OpenBSD Secure Shell server");
  return 0;
}

int Netcat(const Args& a) {
  if (Has(a, "-l") || Has(a, "-lp") || Has(a, "-lvp") || Has(a, "-lnvp")) return 1;
  const Args ops = Operands(a);
  if (ops.size() < 2) return 1;
  int fd = Connect(ops[ops.size() - 2], ops.back(), 3000);
  if (fd < 0) return 1;
  if (!Has(a, "-z")) {
    std::string in = ReadStdin();
    if (::write(fd, in.data(), in.size()) < 0) {
    }
  }
  ::close(fd);
  return 0;
}

int Ssh(const char* tool, const Args& a) {
  for (const auto& op : Operands(a)) {
    std::string host = op.substr(op.find('@') == std::string::npos ? 0 : op.find('@') + 1);
    host = host.substr(0, host.find(':'));
    if (host.empty()) continue;
    int fd = Connect(host, "22", 3000);
    if (fd >= 0) ::close(fd);
    std::fprintf(stderr, "%s: connect to host %s port 22: Connection refused\n", tool, host.c_str());
    return 255;
  }
  std::fprintf(stderr, "usage: %s destination\n", tool);
  return 255;
}

// curl/wget where the host has none: one HTTP/1.0 GET, the body to -o/-O FILE or stdout.
int HttpGet(bool wget, const Args& a) {
  std::string url, out;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] == "-o" || a[i] == "-O" || a[i] == "--output") && i + 1 < a.size()) {
      out = a[++i];
    } else if (a[i].rfind("http://", 0) == 0 || a[i].rfind("https://", 0) == 0) {
      url = a[i];
    }
  }
  if (url.empty()) return 2;
  const bool tls = url.rfind("https://", 0) == 0;
  std::string rest = url.substr(tls ? 8 : 7);
  std::string host = rest.substr(0, rest.find('/'));
  std::string path = rest.find('/') == std::string::npos ? "/" : rest.substr(rest.find('/'));
  std::string port = tls ? "443" : "80";
  if (auto c = host.find(':'); c != std::string::npos) {
    port = host.substr(c + 1);
    host = host.substr(0, c);
  }
  if (wget && out.empty()) out = path.substr(path.find_last_of('/') + 1).empty() ? "index.html" : path.substr(path.find_last_of('/') + 1);
  int fd = Connect(host, port, 5000);
  if (fd < 0) return wget ? 4 : 7;
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nUser-Agent: " + (wget ? "Wget/1.21.3" : "curl/7.88.1") + "\r\n\r\n";
  std::string resp;
  if (!tls && ::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
    char buf[4096];
    pollfd p{fd, POLLIN, 0};
    for (ssize_t n; resp.size() < (1u << 20) && ::poll(&p, 1, 5000) == 1 && (n = ::read(fd, buf, sizeof buf)) > 0;) resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto body_at = resp.find("\r\n\r\n");
  std::string body = body_at == std::string::npos ? "" : resp.substr(body_at + 4);
  if (out.empty() || out == "-") {
    std::fwrite(body.data(), 1, body.size(), stdout);
  } else {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o < 0) return 23;
    if (::write(o, body.data(), body.size()) < 0) {
    }
    ::close(o);
  }
  return 0;
}

int Scheduler(const std::string& tool, const Args& a) {
  if (tool == "crontab") {
    if (Has(a, "-l")) {
      std::fputs("no crontab for sandbox\n", stderr);
      return 1;
    }
    if (Has(a, "-r") || Has(a, "-e")) return 0;
    const Args ops = Operands(a);
    KeepCopy("crontab", ops.empty() || ops.back() == "-" ? ReadStdin() : ReadFile(ops.back()));
    return 0;
  }
  if (tool == "atq" || tool == "atrm") return 0;
  KeepCopy("at-jobs", ReadStdin());
  std::fputs("warning: commands will be executed using /bin/sh\njob 1 at Thu Jan  1 00:00:00 2026\n", stderr);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string tool = argc > 0 && argv[0] ? argv[0] : "";
  tool = tool.substr(tool.find_last_of('/') == std::string::npos ? 0 : tool.find_last_of('/') + 1);
  Args a(argv + (argc > 0 ? 1 : 0), argv + argc);
  if (tool == "crontab" || tool == "at" || tool == "batch" || tool == "atq" || tool == "atrm") return Scheduler(tool, a);
  if (tool == "sudo") return Sudo(a);
  if (tool == "su") return Su(a);
  if (tool == "systemctl") return Systemctl(a);
  if (tool == "service") {
    if (Has(a, "--status-all")) std::puts(" [ + ]  cron\n [ + ]  ssh");
    return 0;
  }
  if (tool == "passwd" || tool == "chpasswd") {
    if (tool == "chpasswd" || Has(a, "--stdin")) ReadStdin();
    if (tool == "passwd") std::puts("passwd: password updated successfully");
    return 0;
  }
  if (tool == "nc" || tool == "ncat" || tool == "netcat") return Netcat(a);
  if (tool == "ssh" || tool == "scp") return Ssh(tool.c_str(), a);
  if (tool == "curl" || tool == "wget") return HttpGet(tool == "wget", a);
  if ((tool == "iptables" || tool == "ip6tables") && (Has(a, "-L") || Has(a, "-S"))) {
    std::puts("Chain INPUT (policy ACCEPT)\n\nChain FORWARD (policy ACCEPT)\n\nChain OUTPUT (policy ACCEPT)");
    return 0;
  }
  if (tool == "ufw" && Has(a, "disable")) std::puts("Firewall stopped and disabled on system startup");
  // useradd, usermod, userdel, adduser, groupadd, insmod, modprobe, rmmod, iptables, setenforce, ...:
  // done, silently, as the real tools are when they succeed.
  return 0;
}
