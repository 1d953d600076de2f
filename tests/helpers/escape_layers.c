/* escape_layers: probes that exactly ONE layer of airlock stops, for the layer matrix
 * (tests/escape/escape_matrix_test.cc). Each is BLOCKED in the default profile and ESCAPED with that
 * one layer weakened; the test shows both, and for seccomp that the filter's own refusal (counted in
 * the report's denied_syscalls) is what stopped the call.
 * Usage: escape_layers PROBE|all [hostpid=N] [hostname=NAME] [udpport=N] [token=T]
 *
 * Seccomp probes (sc_<group>) make one call of the group with arguments the kernel rejects (or
 * accepts harmlessly) WITHOUT any capability: a bad pointer, invalid flags, a nonexistent path, the
 * caller's own process. The filter answers every call of a dangerous group with EPERM, so any other
 * outcome means the call passed the filter ("reached the kernel"); where the kernel itself demands a
 * capability of the initial user namespace first (acct, modules, kexec) it answers EPERM too, and the
 * test tells the two apart by the report's count. Nothing here changes the host or the sandbox. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/kcmp.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "escape_probe.h"

#define BAD_PTR ((void*)1)

/* One call of a seccomp group: EPERM = refused (by the filter, or by the kernel's own capability
 * check: the test decides with denied_syscalls), anything else = it passed the filter. */
static void judge_call(const char* probe, long rc, int err, const char* call) {
  char what[160];
  if (rc >= 0) {
    snprintf(what, sizeof what, "%s returned %ld: passed the filter", call, rc);
    escaped(probe, what);
  } else if (err == EPERM) {
    blocked_errno(probe, err);
  } else {
    snprintf(what, sizeof what, "%s reached the kernel (%s)", call, ename(err));
    escaped(probe, what);
  }
}
#define CALL(probe, expr, call) do { errno = 0; long rc_ = (long)(expr); judge_call(probe, rc_, errno, call); } while (0)

static void sc_mount(void) { CALL("sc_mount", umount2("/", (int)0x80000000), "umount2(invalid flags)"); }
static void sc_chroot(void) { CALL("sc_chroot", chroot("/nonexistent-airlock-chroot"), "chroot(missing path)"); }
static void sc_namespaces(void) { CALL("sc_namespaces", setns(-1, 0), "setns(-1)"); }
static void sc_keyring(void) { CALL("sc_keyring", syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0), "keyctl"); }
static void sc_bpf(void) { CALL("sc_bpf", syscall(SYS_bpf, BPF_PROG_LOAD, BAD_PTR, 8), "bpf(bad attr pointer)"); }
static void sc_perf(void) { CALL("sc_perf", syscall(SYS_perf_event_open, BAD_PTR, 0, -1, -1, 0), "perf_event_open(bad attr)"); }
static void sc_ptrace(void) {
  static int word = 0x5eed;
  int copy = 0;
  struct iovec local = {&copy, sizeof copy}, remote = {&word, sizeof word};
  CALL("sc_ptrace", syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0), "process_vm_readv(self)");
}
static void sc_debug(void) { CALL("sc_debug", syscall(SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0), "kcmp(self, self)"); }
static void sc_handles(void) {
  struct file_handle fh = {0};
  int mount_id = 0;
  CALL("sc_handles", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &fh, &mount_id, 0), "name_to_handle_at(/)");
}
static void sc_module(void) { CALL("sc_module", syscall(SYS_init_module, BAD_PTR, 16, ""), "init_module(bad image)"); }
static void sc_kexec(void) { CALL("sc_kexec", syscall(SYS_kexec_load, 0, 1, BAD_PTR, 0xdead0000UL), "kexec_load(bad segments)"); }
static void sc_reboot(void) { CALL("sc_reboot", syscall(SYS_reboot, 0x1234, 0x5678, 0, NULL), "reboot(wrong magic)"); }
static void sc_swap(void) {
  CALL("sc_swap", syscall(SYS_swapon, "/nonexistent-airlock-swap", 0xffffffff), "swapon(invalid flags)");
}
static void sc_clock_set(void) { CALL("sc_clock_set", syscall(SYS_clock_settime, CLOCK_REALTIME, BAD_PTR), "clock_settime(bad pointer)"); }
static void sc_raw_io(void) { CALL("sc_raw_io", syscall(SYS_iopl, 4), "iopl(4)"); }
static void sc_io_uring(void) { CALL("sc_io_uring", syscall(SYS_io_uring_setup, 1, BAD_PTR), "io_uring_setup(bad params)"); }
static void sc_userfaultfd(void) {
  CALL("sc_userfaultfd", syscall(SYS_userfaultfd, UFFD_USER_MODE_ONLY | 0x40000000), "userfaultfd(invalid flags)");
}
/* Q_SYNC of quota type 7 (>= MAXQUOTAS): EINVAL before anything else. */
static void sc_quota(void) { CALL("sc_quota", syscall(SYS_quotactl, (0x800001 << 8) | 7, NULL, 0, NULL), "quotactl(bad type)"); }
static void sc_acct(void) { CALL("sc_acct", syscall(SYS_acct, NULL), "acct(NULL)"); }
static void sc_numa(void) { CALL("sc_numa", syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0), "get_mempolicy"); }
static void sc_ldt(void) {
  char buf[16];
  CALL("sc_ldt", syscall(SYS_modify_ldt, 0, buf, sizeof buf), "modify_ldt(read)");
}
static void sc_privileged_misc(void) {
  errno = 0;
  long fd = syscall(SYS_fanotify_init, FAN_CLASS_NOTIF | FAN_REPORT_FID, O_RDONLY);
  if (fd >= 0) close((int)fd);
  judge_call("sc_privileged_misc", fd, errno, "fanotify_init(unprivileged flags)");
}
static void sc_obsolete(void) { CALL("sc_obsolete", syscall(SYS_ustat, 0, BAD_PTR), "ustat"); }

/* Landlock: binding a TCP port in the sandbox's own network namespace (no rule allows any port). */
static void ll_tcp_bind(void) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) { blocked_errno("ll_tcp_bind", errno); return; }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(47011), .sin_addr = {htonl(INADDR_LOOPBACK)}};
  errno = 0;
  int rc = bind(s, (struct sockaddr*)&a, sizeof a);
  int e = errno;
  close(s);
  if (rc == 0) escaped("ll_tcp_bind", "bound TCP 127.0.0.1:47011");
  else blocked_errno("ll_tcp_bind", e);
}

/* Landlock scope: a signal to the sandbox's init (pid 1, same uid, outside the payload's domain). */
static void ll_signal(void) {
  errno = 0;
  if (kill(1, 0) == 0) escaped("ll_signal", "kill(1, 0) allowed: the payload may signal init");
  else blocked_errno("ll_signal", errno);
}

/* Landlock, filesystem: /dev is a tmpfs of the sandbox's own that the payload may write by its mode
 * (inside uid 0 owns it), but Landlock grants it only reading and writing device files. */
static void ll_dev_create(void) {
  errno = 0;
  int fd = open("/dev/airlock-layer-probe", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) { blocked_errno("ll_dev_create", errno); return; }
  close(fd);
  unlink("/dev/airlock-layer-probe");
  escaped("ll_dev_create", "created a file in /dev");
}

/* Session: with setsid the payload leads its own session; without, its session leader is outside the
 * pid namespace (airlock's caller) and getsid() reports 0, and the caller's terminal is its own. */
static void session(void) {
  pid_t sid = getsid(0);
  char what[96];
  if (sid == 0) escaped("session", "in a session led from outside the sandbox (the caller's)");
  else {
    snprintf(what, sizeof what, "own session (sid %d, pid %d)", (int)sid, (int)getpid());
    blocked("session", what);
  }
}

/* pid namespace: a host process is visible by its pid. */
static void ns_pid(void) {
  pid_t host = (pid_t)atol(param("hostpid", "0"));
  errno = 0;
  pid_t pg = host > 0 ? getpgid(host) : -1;
  char what[96];
  if (pg >= 0) {
    snprintf(what, sizeof what, "host process %d visible (pgid %d)", (int)host, (int)pg);
    escaped("ns_pid", what);
  } else {
    blocked_errno("ns_pid", host > 0 ? errno : EINVAL);
  }
}

/* uts namespace: the host's hostname. */
static void ns_uts(void) {
  char name[256] = "";
  gethostname(name, sizeof name - 1);
  const char* host = param("hostname", "");
  char what[320];
  snprintf(what, sizeof what, "hostname '%s'", name);
  if (host[0] && strcmp(name, host) == 0) escaped("ns_uts", what);
  else blocked("ns_uts", what);
}

/* net namespace: a UDP datagram (Landlock does not handle UDP) to a socket the host listens on at
 * 127.0.0.1:udpport. Refused (ECONNREFUSED) when nothing listens there, i.e. in a loopback of the
 * sandbox's own; the test also checks the host socket received the token. */
static void ns_net(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) { blocked_errno("ns_net", errno); return; }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(param("udpport", "9"))),
                          .sin_addr = {htonl(INADDR_LOOPBACK)}};
  const char* token = param("token", "airlock-layer");
  int err = 0;
  if (connect(s, (struct sockaddr*)&a, sizeof a) != 0 || send(s, token, strlen(token), 0) < 0) err = errno;
  if (!err) {  /* an ICMP port-unreachable arrives as ECONNREFUSED on the next call */
    struct pollfd p = {s, POLLIN, 0};
    poll(&p, 1, 300);
    char b[8];
    if (recv(s, b, sizeof b, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED) err = ECONNREFUSED;
    else if (send(s, token, strlen(token), 0) < 0) err = errno;
  }
  close(s);
  if (err) blocked_errno("ns_net", err);
  else escaped("ns_net", "UDP datagrams to 127.0.0.1 not refused: a host socket receives them");
}

/* cgroup namespace: /proc/self/cgroup shows the path from the root of the host's hierarchy. */
static void ns_cgroup(void) {
  FILE* f = fopen("/proc/self/cgroup", "re");
  if (!f) { blocked_errno("ns_cgroup", errno); return; }
  char line[512], what[600] = "";
  int host_path = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    const char* path = strrchr(line, ':');
    int outside = path && strcmp(path, ":/") != 0;
    if (!what[0] || (outside && !host_path)) snprintf(what, sizeof what, "%s", line);
    host_path |= outside;
  }
  fclose(f);
  if (host_path) escaped("ns_cgroup", what);
  else blocked("ns_cgroup", what[0] ? what : "empty");
}

/* Capabilities: CAP_DAC_OVERRIDE on a mode-0000 file of the payload's own. */
static void cap_dac(void) {
  const char* path = "/tmp/airlock-layer-dac";
  unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) { blocked("cap_dac", "cannot create the probe file"); return; }
  close(fd);
  errno = 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  int e = errno;
  unlink(path);
  if (fd >= 0) { close(fd); escaped("cap_dac", "opened a mode-0000 file (CAP_DAC_OVERRIDE)"); }
  else blocked_errno("cap_dac", e);
}

static const struct probe probes[] = {
    {"sc_mount", sc_mount}, {"sc_chroot", sc_chroot}, {"sc_namespaces", sc_namespaces}, {"sc_keyring", sc_keyring},
    {"sc_bpf", sc_bpf}, {"sc_perf", sc_perf}, {"sc_ptrace", sc_ptrace}, {"sc_debug", sc_debug},
    {"sc_handles", sc_handles}, {"sc_module", sc_module}, {"sc_kexec", sc_kexec}, {"sc_reboot", sc_reboot},
    {"sc_swap", sc_swap}, {"sc_clock_set", sc_clock_set}, {"sc_raw_io", sc_raw_io}, {"sc_io_uring", sc_io_uring},
    {"sc_userfaultfd", sc_userfaultfd}, {"sc_quota", sc_quota}, {"sc_acct", sc_acct}, {"sc_numa", sc_numa},
    {"sc_ldt", sc_ldt}, {"sc_privileged_misc", sc_privileged_misc}, {"sc_obsolete", sc_obsolete},
    {"ll_tcp_bind", ll_tcp_bind}, {"ll_signal", ll_signal}, {"ll_dev_create", ll_dev_create},
    {"session", session}, {"ns_pid", ns_pid}, {"ns_uts", ns_uts}, {"ns_net", ns_net}, {"ns_cgroup", ns_cgroup},
    {"cap_dac", cap_dac}, {NULL, NULL}};

int main(int argc, char** argv) { return probe_main(argc, argv, "escape_layers", probes); }
