// seccomp_bench: nanoseconds per syscall in forked children under
//   bare            no filter
//   airlock         the default policy (binary tree, count_denials on: listener created, unused here)
//   airlock-linear  the same rules without the binary tree
//   docker          Docker's default profile compiled by libseccomp from its JSON (default optimiser)
// for (a) getppid (constant action, kernel action cache), (b) ioctl(FIONREAD) (argument-checked by
// airlock, cached under Docker), (c) personality(query) (argument-checked by both), (d) open+close of
// /dev/null, (e) 1-byte read of /dev/zero.
// Variants are interleaved in rounds with a rotating order (the host is noisy); the report gives the
// median ns/call per variant and the median of per-round ratios to bare.
//
// A second table compares a denied call (mount) answered in the kernel (count_denials off) with
// the same call counted through the user-notification supervisor (count_denials on).
//
// usage: seccomp_bench [--rounds N] [--scale F] [--docker PATH]
#include <fcntl.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "seccomp/notify.h"
#include "seccomp/seccomp.h"

namespace {

using airlock::SeccompProgram;

struct Op {
  const char* name;
  long iterations;
};
constexpr Op kOps[] = {{"getppid (cached)", 200000},
                       {"ioctl FIONREAD (arg-checked)", 200000},
                       {"personality query (arg-checked)", 200000},
                       {"open+close /dev/null", 40000},
                       {"read 1B /dev/zero", 200000}};
constexpr int kNumOps = sizeof kOps / sizeof kOps[0];

struct Variant {
  std::string name;
  std::optional<std::vector<sock_filter>> filter;  // nullopt: bare
};

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // vDSO: not a syscall
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

double RunOp(int op, long n) {
  int p[2];
  if (pipe(p) != 0) return -1;
  int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  char c;
  int avail;
  uint64_t t0 = NowNs();
  for (long i = 0; i < n; ++i) {
    switch (op) {
      case 0: syscall(SYS_getppid); break;
      case 1: ioctl(p[0], FIONREAD, &avail); break;
      case 2: personality(0xffffffff); break;
      case 3: close(open("/dev/null", O_RDONLY | O_CLOEXEC)); break;
      case 4: (void)!read(zero, &c, 1); break;
    }
  }
  uint64_t t1 = NowNs();
  close(zero);
  close(p[0]);
  close(p[1]);
  return static_cast<double>(t1 - t0) / static_cast<double>(n);
}

// One child per (variant, round): install, then measure every op; results through a pipe.
bool Measure(const Variant& v, double scale, double out[kNumOps]) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    if (v.filter) {
      sock_fprog prog{static_cast<unsigned short>(v.filter->size()), const_cast<sock_filter*>(v.filter->data())};
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        _exit(1);
    }
    double r[kNumOps];
    for (int i = 0; i < kNumOps; ++i) r[i] = RunOp(i, std::max(1000L, static_cast<long>(kOps[i].iterations * scale)));
    (void)!write(fds[1], r, sizeof r);
    _exit(0);
  }
  close(fds[1]);
  ssize_t got = read(fds[0], out, sizeof(double) * kNumOps);
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return got == static_cast<ssize_t>(sizeof(double) * kNumOps) && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

std::optional<std::vector<sock_filter>> Export(scmp_filter_ctx ctx) {
  int fd = memfd_create("bench-bpf", MFD_CLOEXEC);
  if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0) return std::nullopt;
  off_t size = lseek(fd, 0, SEEK_END);
  std::vector<sock_filter> insns(static_cast<size_t>(size) / sizeof(sock_filter));
  bool ok = pread(fd, insns.data(), static_cast<size_t>(size), 0) == size;
  close(fd);
  if (!ok) return std::nullopt;
  return insns;
}

bool Has(const nlohmann::json& obj, const char* key, const char* value) {
  if (!obj.contains(key)) return false;
  for (const auto& v : obj[key])
    if (v == value) return true;
  return false;
}

// Docker's profile as moby applies it on amd64 without capabilities.
std::optional<std::vector<sock_filter>> CompileDocker(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(1));
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  seccomp_arch_add(ctx, SCMP_ARCH_X86);  // archMap: amd64 with x86 and x32 sub-architectures
  seccomp_arch_add(ctx, SCMP_ARCH_X32);
  for (const auto& e : j["syscalls"]) {
    if (e.value("action", "") != "SCMP_ACT_ALLOW") continue;
    if (e.contains("includes")) {
      const auto& inc = e["includes"];
      if (inc.contains("caps") && !inc["caps"].empty()) continue;
      if (inc.contains("arches") && !Has(inc, "arches", "amd64")) continue;
    }
    if (e.contains("excludes") && Has(e["excludes"], "arches", "amd64")) continue;
    std::vector<scmp_arg_cmp> conds;
    if (e.contains("args") && e["args"].is_array()) {
      for (const auto& a : e["args"]) {
        const std::string op = a["op"];
        scmp_compare cmp = op == "SCMP_CMP_EQ" ? SCMP_CMP_EQ
                           : op == "SCMP_CMP_LT" ? SCMP_CMP_LT
                           : op == "SCMP_CMP_GT" ? SCMP_CMP_GT
                           : op == "SCMP_CMP_NE" ? SCMP_CMP_NE
                           : op == "SCMP_CMP_GE" ? SCMP_CMP_GE
                           : op == "SCMP_CMP_LE" ? SCMP_CMP_LE
                                                 : SCMP_CMP_MASKED_EQ;
        conds.push_back({a["index"].get<unsigned>(), cmp, a["value"].get<uint64_t>(), a.value("valueTwo", uint64_t{0})});
      }
    }
    for (const auto& n : e["names"]) {
      int nr = seccomp_syscall_resolve_name(n.get<std::string>().c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // newer than this libseccomp
      seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, static_cast<unsigned>(conds.size()), conds.data());
    }
  }
  auto out = Export(ctx);
  seccomp_release(ctx);
  return out;
}

void SendFd(int sock, int fd) {
  char d = 'f';
  iovec iov{&d, 1};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = buf;
  m.msg_controllen = sizeof buf;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  (void)!sendmsg(sock, &m, 0);
}

int RecvFd(int sock) {
  char d;
  iovec iov{&d, 1};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = buf;
  m.msg_controllen = sizeof buf;
  if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) <= 0 || !CMSG_FIRSTHDR(&m)) return -1;
  int fd;
  std::memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
  return fd;
}

// ns per denied mount() with the default policy; counted: through RunNotifySupervisor.
double MeasureDenied(const SeccompProgram& prog, long n) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(1);
    int listener = airlock::InstallSeccompInChild(prog);
    if (listener < 0) _exit(1);
    if (prog.uses_user_notif) {
      SendFd(sv[1], listener);
      close(listener);
    }
    uint64_t t0 = NowNs();
    for (long i = 0; i < n; ++i) syscall(SYS_mount, nullptr, "/nonexistent", nullptr, 0, nullptr);
    double r = static_cast<double>(NowNs() - t0) / static_cast<double>(n);
    (void)!write(sv[1], &r, sizeof r);
    _exit(0);
  }
  close(sv[1]);
  std::thread supervisor;
  int listener = -1;
  if (prog.uses_user_notif) {
    listener = RecvFd(sv[0]);
    supervisor = std::thread([listener, &prog] { (void)airlock::RunNotifySupervisor(listener, prog); });
  }
  double r = -1;
  if (read(sv[0], &r, sizeof r) != sizeof r) r = -1;
  close(sv[0]);
  waitpid(pid, nullptr, 0);
  if (supervisor.joinable()) supervisor.join();
  if (listener >= 0) close(listener);
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 15;
  double scale = 1.0;
  std::string docker_path = AIRLOCK_DOCKER_PROFILE;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
    else if (a == "--scale") scale = std::atof(argv[i + 1]);
    else if (a == "--docker") docker_path = argv[i + 1];
  }

  std::vector<Variant> variants;
  variants.push_back({"bare", std::nullopt});
  auto ours = airlock::CompileSeccomp(airlock::SeccompPolicy{});
  if (!ours) {
    std::fprintf(stderr, "airlock filter: %s\n", ours.error().What().c_str());
    return 1;
  }
  variants.push_back({"airlock", ours->insns});
  airlock::SeccompCompileOptions linear;
  linear.binary_tree = false;
  auto ours_linear = airlock::CompileSeccomp(airlock::SeccompPolicy{}, linear);
  if (ours_linear) variants.push_back({"airlock-linear", ours_linear->insns});
  auto docker = CompileDocker(docker_path);
  if (docker) variants.push_back({"docker", *docker});
  else std::fprintf(stderr, "docker profile not available at %s: skipped\n", docker_path.c_str());

  const size_t nv = variants.size();
  // ns[variant][op][round], ratio[variant][op][round]
  std::vector<std::vector<std::vector<double>>> ns(nv, std::vector<std::vector<double>>(kNumOps));
  std::vector<std::vector<std::vector<double>>> ratio(nv, std::vector<std::vector<double>>(kNumOps));
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::vector<double>> res(nv, std::vector<double>(kNumOps, 0));
    bool ok = true;
    for (size_t k = 0; k < nv; ++k) {
      size_t v = (k + static_cast<size_t>(r)) % nv;  // rotate the order
      ok &= Measure(variants[v], scale, res[v].data());
    }
    if (!ok) {
      std::fprintf(stderr, "round %d failed\n", r);
      continue;
    }
    for (size_t v = 0; v < nv; ++v)
      for (int o = 0; o < kNumOps; ++o) {
        ns[v][o].push_back(res[v][o]);
        ratio[v][o].push_back(res[v][o] / res[0][o]);
      }
  }

  std::printf("filter sizes (BPF instructions):");
  for (const Variant& v : variants)
    if (v.filter) std::printf(" %s=%zu", v.name.c_str(), v.filter->size());
  std::printf("\nrounds: %d\n\n| syscall |", rounds);
  for (const Variant& v : variants) std::printf(" %s ns |", v.name.c_str());
  std::printf("\n|---|");
  for (size_t v = 0; v < nv; ++v) std::printf("---|");
  std::printf("\n");
  for (int o = 0; o < kNumOps; ++o) {
    std::printf("| %s |", kOps[o].name);
    for (size_t v = 0; v < nv; ++v) {
      if (v == 0) std::printf(" %.0f |", Median(ns[v][o]));
      else std::printf(" %.0f (x%.2f) |", Median(ns[v][o]), Median(ratio[v][o]));
    }
    std::printf("\n");
  }

  airlock::SeccompPolicy kernel_pol;
  kernel_pol.count_denials = false;
  auto kernel_deny = airlock::CompileSeccomp(kernel_pol);
  if (!kernel_deny) return 1;
  std::vector<double> k_ns, c_ns, c_ratio;
  const long n = std::max(1000L, static_cast<long>(20000 * scale));
  for (int r = 0; r < rounds; ++r) {
    double k = MeasureDenied(*kernel_deny, n);
    double c = MeasureDenied(*ours, n);
    if (k <= 0 || c <= 0) continue;
    k_ns.push_back(k);
    c_ns.push_back(c);
    c_ratio.push_back(c / k);
  }
  std::printf("\n| denied mount() | kernel EPERM ns | counted via supervisor ns |\n|---|---|---|\n");
  std::printf("| default policy | %.0f | %.0f (x%.1f) |\n", Median(k_ns), Median(c_ns), Median(c_ratio));
  return 0;
}
