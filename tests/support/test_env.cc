#include "test_env.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#ifndef AIRLOCK_TEST_BIN
#define AIRLOCK_TEST_BIN "airlock"
#endif
#ifndef AIRLOCK_TEST_HELPER_DIR
#define AIRLOCK_TEST_HELPER_DIR "."
#endif
#ifndef AIRLOCK_SOURCE_DIR
#define AIRLOCK_SOURCE_DIR "."
#endif

namespace airlock::test {

static std::string EnvOr(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v && *v ? v : fallback;
}

std::string AirlockBin() { return EnvOr("AIRLOCK_BIN", AIRLOCK_TEST_BIN); }
std::string HelperDir() { return EnvOr("AIRLOCK_HELPER_DIR", AIRLOCK_TEST_HELPER_DIR); }
std::string Helper(const std::string& name) { return HelperDir() + "/" + name; }
std::string SourceDir() { return EnvOr("AIRLOCK_SOURCE_DIR", AIRLOCK_SOURCE_DIR); }
bool IsRoot() { return geteuid() == 0; }

RunResult ValidateJsonSchema(const std::string& schema, const std::vector<std::string>& paths) {
  std::vector<std::string> argv = {"/usr/bin/python3", SourceDir() + "/tests/schema/validate_json_schema.py",
                                   SourceDir() + "/docs/schema/" + schema};
  argv.insert(argv.end(), paths.begin(), paths.end());
  return Run(argv, "", 120);
}

std::string HostAddress() {
  struct ifaddrs* ifa = nullptr;
  std::string out;
  if (getifaddrs(&ifa) != 0) return out;
  for (auto* i = ifa; i != nullptr && out.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if ((ntohl(a->sin_addr.s_addr) >> 24) == 127) continue;
    char b[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, b, sizeof b);
    out = b;
  }
  freeifaddrs(ifa);
  return out;
}

std::string UserNetSkipReason() {
  if (Run({"/bin/sh", "-c", "command -v slirp4netns || command -v pasta"}).exit_code != 0) {
    return "neither slirp4netns nor pasta is installed";
  }
  struct stat st {};
  if (::stat("/dev/net/tun", &st) != 0) return "no /dev/net/tun on this machine";
  if ((st.st_mode & 0006) == 0006) return "";
  // A mode-0600 node: airlock must say so, with the fix; then the network tests cannot run.
  auto r = RunAirlock({"--net", "user"}, {"/bin/true"});
  EXPECT_NE(r.err.find("chmod 0666 /dev/net/tun"), std::string::npos) << r.err;
  return "/dev/net/tun is not mode 0666, so the unprivileged network helper cannot open it "
         "(run scripts/install-deps.sh or 'chmod 0666 /dev/net/tun' as root)";
}

// Not process::SpawnAndCapture (src/process/spawn.h), on purpose: tests run programs by name through
// PATH (execvp: "unshare" in net_sinkhole_test) and want the exec error on stderr, while the spawn
// contract is execv of a path with a silent 127; and this file is compiled into test binaries that
// link no airlock module (milter_component_tests, sigma_rules_cli_test run the binaries as black boxes).
RunResult Run(const std::vector<std::string>& argv, const std::string& input, int timeout_seconds) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    dprintf(2, "exec %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  signal(SIGPIPE, SIG_IGN);
  if (!input.empty()) {
    ssize_t w = write(in[1], input.data(), input.size());
    (void)w;
  }
  close(in[1]);
  RunResult r;
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  bool killed = false;
  while (open_fds > 0) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    long left = timeout_seconds * 1000L - elapsed_ms;
    if (left <= 0) {
      if (!killed) kill(pid, SIGKILL);
      killed = true;
      left = 1000;
    }
    int n = poll(fds, 2, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        open_fds--;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(got));
      }
    }
    if (killed && n == 0) break;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (killed) r.err += "\n[test harness: killed after timeout]\n";
  return r;
}

RunResult RunAirlock(const std::vector<std::string>& opts, const std::vector<std::string>& cmd, int timeout_seconds) {
  std::vector<std::string> argv = {AirlockBin(), "run"};
  argv.insert(argv.end(), opts.begin(), opts.end());
  argv.push_back("--");
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  return Run(argv, "", timeout_seconds);
}

std::string MakeTempDir(const std::string& tag) {
  std::string base = EnvOr("TMPDIR", "/tmp");
  std::string templ = base + "/airlock-test-" + tag + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp");
  return buf.data();
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

RunResult RunWarmRetryingDecline(const std::vector<std::string>& argv, const std::string& input) {
  RunResult r;
  for (int i = 0; i < 500; ++i) {
    r = Run(argv, input);
    if (r.exit_code != 123 || r.err.find("no warm sandbox ready") == std::string::npos) break;
    usleep(20 * 1000);
  }
  return r;
}

bool WaitForMarker(const std::string& path, const std::string& marker, int timeout_ms) {
  for (int waited = 0;; waited += 10) {
    if (ReadFileOrEmpty(path).find(marker) != std::string::npos) return true;
    if (waited >= timeout_ms) return false;
    usleep(10 * 1000);
  }
}

pid_t SpawnLogged(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
    execv(a[0], a.data());
    _exit(127);
  }
  return pid;
}

void WriteFile(const std::string& path, const std::string& content, int mode) {
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << content;
  }
  chmod(path.c_str(), static_cast<mode_t>(mode));
}

namespace {

// Calls f(pid, command line) for every matching process (see ProcessWithArgExists).
template <typename F>
void ForEachProcessWithArg(const std::string& needle, F f) {
  const bool count_airlock = needle.find('/') != std::string::npos;
  DIR* d = opendir("/proc");
  while (struct dirent* e = d ? readdir(d) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string cmd = ReadFileOrEmpty(std::string("/proc/") + e->d_name + "/cmdline");
    for (auto& ch : cmd)
      if (ch == '\0') ch = ' ';
    if (cmd.find(needle) == std::string::npos) continue;
    if (!count_airlock && cmd.find("airlock") != std::string::npos) continue;
    f(static_cast<pid_t>(std::atoi(e->d_name)), cmd);
  }
  if (d) closedir(d);
}

}  // namespace

bool ProcessWithArgExists(const std::string& needle, bool kill_it) {
  bool found = false;
  ForEachProcessWithArg(needle, [&](pid_t pid, const std::string&) {
    found = true;
    if (kill_it) kill(pid, SIGKILL);
  });
  return found;
}

bool WaitForProcessWithArg(const std::string& needle, int timeout_ms) {
  for (int waited = 0;; waited += 10) {
    if (ProcessWithArgExists(needle)) return true;
    if (waited >= timeout_ms) return false;
    usleep(10 * 1000);
  }
}

pid_t ProcessWithArg(const std::string& needle) {
  pid_t found = 0;
  ForEachProcessWithArg(needle, [&](pid_t pid, const std::string&) { found = found ? found : pid; });
  return found;
}

std::string DescribeProcessesWithArg(const std::string& needle) {
  std::string out;
  ForEachProcessWithArg(needle, [&](pid_t pid, const std::string& cmd) { out += std::to_string(pid) + ": " + cmd + "\n"; });
  return out;
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0 && getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port = ntohs(sa.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace airlock::test
