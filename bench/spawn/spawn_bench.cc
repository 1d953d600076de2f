// Spawn-to-exit latency of /bin/true: bare, the kernel floor (user+mnt+pid+net namespaces with uid
// maps), bubblewrap, firejail and airlock (full default profile and with single layers removed, for a
// per-layer breakdown). Variants are interleaved round by round because this host is noisy: compare
// the ratios against bare of the same run, not absolute times.
//
// Usage: spawn_bench AIRLOCK_BIN [ROUNDS [BASELINE_AIRLOCK_BIN]]
// With a baseline binary (e.g. a copy of airlock built before a change), its default profile runs as
// one more interleaved variant: an A/B comparison within the same rounds.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

double NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

bool Exists(const char* p) { return access(p, X_OK) == 0; }

// `pool_socket`: the AIRLOCK_POOL_SOCKET the child sees (empty: as inherited).
int RunArgv(const std::vector<std::string>& argv, const std::string& pool_socket = "") {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (!pool_socket.empty()) setenv("AIRLOCK_POOL_SOCKET", pool_socket.c_str(), 1);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void WriteFile(const std::string& path, const std::string& s) {
  int fd = open(path.c_str(), O_WRONLY);
  if (fd >= 0) {
    ssize_t n = write(fd, s.data(), s.size());
    (void)n;
    close(fd);
  }
}

// The kernel floor: clone into user+mnt+pid+net namespaces, write uid/gid maps, exec /bin/true.
int KernelFloor() {
  int sync[2];
  if (pipe2(sync, O_CLOEXEC) != 0) return -1;
  pid_t pid = static_cast<pid_t>(syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | SIGCHLD,
                                         nullptr, nullptr, nullptr, nullptr));
  if (pid == 0) {
    close(sync[1]);
    char c;
    if (read(sync[0], &c, 1) != 1) _exit(1);
    execl("/bin/true", "true", nullptr);
    _exit(127);
  }
  close(sync[0]);
  uid_t uid = geteuid();
  gid_t gid = getegid();
  WriteFile(fmt::format("/proc/{}/uid_map", pid), fmt::format("0 {} 1\n", uid == 0 ? 65534 : uid));
  if (uid != 0) WriteFile(fmt::format("/proc/{}/setgroups", pid), "deny\n");
  WriteFile(fmt::format("/proc/{}/gid_map", pid), fmt::format("0 {} 1\n", uid == 0 ? 65534 : gid));
  ssize_t n = write(sync[1], "g", 1);
  (void)n;
  close(sync[1]);
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

struct Variant {
  std::string name;
  std::function<int()> run;
  std::vector<double> ms;
  int settle_ms = 0;  // untimed pause after the run (the pool restocks, disturbing no other variant)
};

double Quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}
double Median(const std::vector<double>& v) { return Quantile(v, 0.5); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: spawn_bench AIRLOCK_BIN [ROUNDS [BASELINE_AIRLOCK_BIN]]\n");
    return 2;
  }
  std::string airlock = argv[1];
  int rounds = argc > 2 ? std::atoi(argv[2]) : 100;
  std::string baseline = argc > 3 ? argv[3] : "";
  std::string tmp = "/tmp/airlock-bench-profiles";
  mkdir(tmp.c_str(), 0755);
  auto profile = [&](const std::string& name, const std::string& body) {
    std::string p = tmp + "/" + name + ".toml";
    FILE* f = fopen(p.c_str(), "w");
    fputs(("include = [\"default\"]\n" + body).c_str(), f);
    fclose(f);
    return p;
  };
  std::string no_seccomp = profile("no-seccomp", "[seccomp]\nmode = \"disabled\"\n");
  std::string no_landlock = profile("no-landlock", "[landlock]\nmode = \"disabled\"\n");
  std::string no_count = profile("no-count", "[seccomp]\ncount_denials = false\n");

  // The default profile's memory limit on this host, min(25% of RAM, 4 GiB), in bytes (for a baseline).
  struct sysinfo si {};
  sysinfo(&si);
  const std::string default_memory =
      std::to_string(std::min<uint64_t>(static_cast<uint64_t>(si.totalram) * si.mem_unit / 4, uint64_t{4} << 30));

  std::vector<Variant> vs;
  vs.push_back({"bare /bin/true", [] { return RunArgv({"/bin/true"}); }, {}});
  vs.push_back({"kernel floor (userns+mnt+pid+net, uid map)", [] { return KernelFloor(); }, {}});
  if (Exists("/usr/bin/bwrap")) {
    vs.push_back({"bubblewrap", [] {
                    return RunArgv({"/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/usr",
                                    "/usr", "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink",
                                    "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true"});
                  }, {}});
  }
  if (Exists("/usr/bin/firejail")) {
    vs.push_back({"firejail", [] { return RunArgv({"/usr/bin/firejail", "--quiet", "--noprofile", "--net=none", "/bin/true"}); }, {}});
  }
  vs.push_back({"airlock default (all layers), cold", [&] { return RunArgv({airlock, "run", "--pool", "off", "--", "/bin/true"}); }, {}});
  // Warm: the same policy, served by `airlock pool` (a sandbox prepared before the call; each serves one
  // run and is replaced after it, off the caller's path). The bench starts its own pools: one of the
  // default profile, one of the default profile with limits (each of its sandboxes waits in a cgroup
  // of its own).
  std::string pool_dir = "/tmp/airlock-bench-pool";
  mkdir(pool_dir.c_str(), 0700);
  chmod(pool_dir.c_str(), 0700);
  const std::vector<std::string> limits = {"--pids", "1024", "--memory", "1g"};
  auto start_pool = [&](const std::string& sock, const std::vector<std::string>& extra, const std::string& bin = "") {
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_RDWR);
      dup2(null, 1);
      std::vector<std::string> pool_argv = {bin.empty() ? airlock : bin, "pool", "--socket", sock, "--size", "2"};
      pool_argv.insert(pool_argv.end(), extra.begin(), extra.end());
      std::vector<char*> a;
      for (auto& x : pool_argv) a.push_back(const_cast<char*>(x.c_str()));
      a.push_back(nullptr);
      execv(a[0], a.data());
      _exit(127);
    }
    for (int i = 0; i < 200 && access(sock.c_str(), F_OK) != 0; ++i) usleep(10000);
    return pid;
  };
  // The built-in default's pool serves the fast path (the client does not load the profile). The
  // same policy from a profile file takes the full path (profile loaded, policy key compared), with
  // and without limits: those two differ only by the cgroup.
  std::string file_default = profile("file-default", "");
  std::string file_limits = profile("file-limits", "[limits]\npids = 1024\nmemory = \"1g\"\n");
  std::string pool_sock = pool_dir + "/pool.sock", file_sock = pool_dir + "/file.sock", limited_sock = pool_dir + "/limited.sock",
              cli_sock = pool_dir + "/cli.sock";
  std::vector<pid_t> pools = {start_pool(pool_sock, {}), start_pool(file_sock, {"--profile", file_default}),
                              start_pool(limited_sock, {"--profile", file_limits}), start_pool(cli_sock, limits)};
  setenv("AIRLOCK_POOL_SOCKET", pool_sock.c_str(), 1);
  usleep(100000);
  vs.push_back({"airlock default (all layers), warm (`airlock pool`)",
                [&] { return RunArgv({airlock, "run", "--pool", "required", "--", "/bin/true"}); }, {}, 30});
  vs.push_back({"airlock default from a profile file, warm (full path)", [&] {
                  return RunArgv({airlock, "run", "--pool", "required", "--profile", file_default, "--", "/bin/true"}, file_sock);
                }, {}, 30});
  vs.push_back({"airlock default + limits from a profile file, warm (full path)", [&] {
                  return RunArgv({airlock, "run", "--pool", "required", "--profile", file_limits, "--", "/bin/true"}, limited_sock);
                }, {}, 30});
  auto with_limits = [&](const char* pool_mode) {
    std::vector<std::string> a = {airlock, "run", "--pool", pool_mode};
    a.insert(a.end(), limits.begin(), limits.end());
    a.insert(a.end(), {"--", "/bin/true"});
    return a;
  };
  vs.push_back({"airlock default + limits (--pids 1024 --memory 1g), warm",
                [&] { return RunArgv(with_limits("required"), cli_sock); }, {}, 30});
  vs.push_back({"airlock default + limits (--pids 1024 --memory 1g), cold",
                [&] { return RunArgv(with_limits("off")); }, {}});
  std::string baseline_sock = pool_dir + "/baseline.sock";
  if (!baseline.empty()) {
    pools.push_back(start_pool(baseline_sock, {}, baseline));
    vs.push_back({"airlock default, baseline binary, warm (its own pool)",
                  [&] { return RunArgv({baseline, "run", "--pool", "required", "--", "/bin/true"}, baseline_sock); }, {}, 30});
    vs.push_back({"airlock default, baseline binary", [&] { return RunArgv({baseline, "run", "--pool", "off", "--", "/bin/true"}); }, {}});
    vs.push_back({"airlock default + limits, baseline binary, cold", [&] {
                    std::vector<std::string> a = with_limits("off");
                    a[0] = baseline;
                    return RunArgv(a);
                  }, {}});
    // The default's bounds given to the baseline on its command line (a baseline older than bounded
    // defaults attaches with a cgroup.procs write from the parent).
    vs.push_back({"baseline binary + the default's limits (--pids 1024 --memory DEFAULT)", [&] {
                    return RunArgv({baseline, "run", "--pool", "off", "--pids", "1024", "--memory", default_memory, "--", "/bin/true"});
                  }, {}});
  }
  vs.push_back({"airlock cold, limits lifted (--pids unlimited --memory unlimited)", [&] {
                  return RunArgv({airlock, "run", "--pool", "off", "--pids", "unlimited", "--memory", "unlimited", "--", "/bin/true"});
                }, {}});
  vs.push_back({"airlock without seccomp", [&] { return RunArgv({airlock, "run", "--pool", "off", "--profile", no_seccomp, "--", "/bin/true"}); }, {}});
  vs.push_back({"airlock without denial counting", [&] { return RunArgv({airlock, "run", "--pool", "off", "--profile", no_count, "--", "/bin/true"}); }, {}});
  vs.push_back({"airlock without landlock", [&] { return RunArgv({airlock, "run", "--pool", "off", "--profile", no_landlock, "--", "/bin/true"}); }, {}});
  vs.push_back({"airlock --net host", [&] { return RunArgv({airlock, "run", "--pool", "off", "--net", "host", "--", "/bin/true"}); }, {}});

  for (auto& v : vs) {  // warm up and check each variant works
    int rc = v.run();
    if (rc != 0) fmt::print(stderr, "warning: {} exited {}\n", v.name, rc);
  }
  // Each round runs the variants in its own order (a shuffle seeded by the round), so every variant
  // follows every other one about equally often: a fixed cycle would always put the same variant
  // after, say, firejail or a warm run, and charge it for what that one leaves behind.
  std::vector<size_t> order(vs.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  for (int r = 0; r < rounds; ++r) {
    std::mt19937 rng(static_cast<unsigned>(r) * 2654435761u + 1);
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t k : order) {
      Variant& v = vs[k];
      double t = NowMs();
      v.run();
      v.ms.push_back(NowMs() - t);
      if (v.settle_ms) usleep(static_cast<useconds_t>(v.settle_ms) * 1000);
    }
  }
  // The lower quartile is less disturbed by other load on a shared machine than the median.
  double bare = Median(vs[0].ms);
  double bare_q1 = Quantile(vs[0].ms, 0.25);
  const Variant* bwrap = nullptr;
  for (auto& v : vs) {
    if (v.name == "bubblewrap") bwrap = &v;
  }
  fmt::print("| variant | median ms | ratio vs bare | p25 ms | p25 ratio | median vs bwrap | p25 vs bwrap |\n"
             "|---|---:|---:|---:|---:|---:|---:|\n");
  for (auto& v : vs) {
    std::string vs_bwrap = bwrap ? fmt::format("{:.2f} | {:.2f}", Median(v.ms) / Median(bwrap->ms),
                                               Quantile(v.ms, 0.25) / Quantile(bwrap->ms, 0.25))
                                 : "- | -";
    fmt::print("| {} | {:.2f} | {:.1f}x | {:.2f} | {:.1f}x | {} |\n", v.name, Median(v.ms), Median(v.ms) / bare,
               Quantile(v.ms, 0.25), Quantile(v.ms, 0.25) / bare_q1, vs_bwrap);
  }
  fmt::print("\n{} rounds, uid {}, variants interleaved per round (shuffled per round).\n", rounds, geteuid());
  for (pid_t p : pools) {
    kill(p, SIGTERM);
    waitpid(p, nullptr, 0);
  }
  return 0;
}
