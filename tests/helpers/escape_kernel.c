/* escape_kernel: attacker probes against the KERNEL ATTACK SURFACE and namespace/mount escapes
 * (tests/escape). Usage: escape_kernel PROBE|all [secret=PATH] [hostpid=N] [keyid=N]
 *
 * Privileged syscalls are called with INVALID arguments only (bad pointers, wrong magic, nonexistent
 * paths): if one reaches the kernel's argument checks the probe sees EFAULT/EINVAL/ENOENT and reports
 * "ESCAPED reached kernel", and nothing happens to the host either way. BLOCKED means EPERM/ENOSYS,
 * i.e. refused before the kernel looked at the arguments. One line per probe, exit 0. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "escape_probe.h"

#define BAD_PTR ((void*)1)

/* Judges a raw syscall return: success or an argument error means the call reached the kernel. */
static void judge(const char* probe, long rc, int err, const char* call) {
  char what[160];
  if (rc >= 0) {
    snprintf(what, sizeof what, "%s succeeded", call);
    escaped(probe, what);
  } else if (err == EPERM || err == ENOSYS) {
    blocked_errno(probe, err);
  } else {
    snprintf(what, sizeof what, "%s reached kernel (%s)", call, ename(err));
    escaped(probe, what);
  }
}
#define JUDGE(probe, expr, call) do { errno = 0; long rc_ = (long)(expr); judge(probe, rc_, errno, call); } while (0)

/* A fresh empty directory of the probe's own: mounting on it (and unmounting at once) is harmless
 * even where a runtime left the host's mount namespace shared. */
static int own_dir(char* buf, size_t n) {
  snprintf(buf, n, "/tmp/escape-mnt-XXXXXX");
  return mkdtemp(buf) != NULL;
}

static void p_mount(void) {
  char dir[64];
  if (!own_dir(dir, sizeof dir)) { blocked("mount", "no writable /tmp"); return; }
  errno = 0;
  int rc = mount("none", dir, "tmpfs", 0, NULL);
  int e = errno;
  if (rc == 0) umount2(dir, MNT_DETACH);
  rmdir(dir);
  judge("mount", rc, e, "mount tmpfs");
}

static void p_mount_api(void) {
  errno = 0;
  long fd = syscall(SYS_fsopen, "tmpfs", 0);
  if (fd >= 0) { close((int)fd); escaped("mount_api", "fsopen succeeded"); return; }
  int e = errno;
  long t = syscall(SYS_open_tree, AT_FDCWD, "/usr", 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC);
  if (t >= 0) { close((int)t); escaped("mount_api", "open_tree(OPEN_TREE_CLONE) succeeded"); return; }
  judge("mount_api", -1, e == EPERM || e == ENOSYS ? errno : e, "fsopen/open_tree");
}

/* umount2 of a directory that is not a mount point: EINVAL once past the capability check. */
static void p_umount(void) {
  char dir[64];
  if (!own_dir(dir, sizeof dir)) { blocked("umount", "no writable /tmp"); return; }
  errno = 0;
  int rc = umount2(dir, 0);
  int e = errno;
  rmdir(dir);
  judge("umount", rc, e, "umount2");
}

/* Nonexistent paths: ENOENT once past the capability check, never an actual pivot. */
static void p_pivot_root(void) {
  JUDGE("pivot_root", syscall(SYS_pivot_root, "/nonexistent-airlock-a", "/nonexistent-airlock-b"), "pivot_root");
}

static void p_unshare_userns(void) {
  pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWUSER) != 0) {
      int e = errno;
      /* clone() with CLONE_NEWUSER is the other way in. */
      long c = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, NULL);
      if (c == 0) _exit(0);
      if (c > 0) { waitpid((pid_t)c, NULL, 0); escaped("unshare_userns", "clone(CLONE_NEWUSER) succeeded"); }
      else blocked_errno("unshare_userns", e);
      fflush(stdout);
      _exit(0);
    }
    /* In the new user namespace we are "root": try a mount (the point of the attack). */
    char dir[64];
    int have_dir = unshare(CLONE_NEWNS) == 0 && own_dir(dir, sizeof dir);
    if (have_dir && mount("none", dir, "tmpfs", 0, NULL) == 0) {
      umount2(dir, MNT_DETACH);
      escaped("unshare_userns", "unshare(CLONE_NEWUSER) then mount succeeded");
    } else {
      escaped("unshare_userns", "unshare(CLONE_NEWUSER) succeeded (mount failed)");
    }
    if (have_dir) rmdir(dir);
    fflush(stdout);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
}

static void p_clone3(void) {
  /* clone3 hides its flags in memory seccomp cannot read; it must be refused outright. */
  JUDGE("clone3", syscall(SYS_clone3, BAD_PTR, 88), "clone3");
}

static void p_setns(void) {
  const char* kinds[] = {"user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time", NULL};
  /* The host process (not visible), the sandbox's init (not dumpable) and, so that setns itself is
   * exercised, the probe's own namespaces (joining them would change nothing). */
  const char* pids[] = {param("hostpid", "1"), "1", "self", NULL};
  int opened = 0, first_err = 0, setns_err = 0;
  for (int p = 0; pids[p]; p++) {
    for (int k = 0; kinds[k]; k++) {
      char path[128];
      snprintf(path, sizeof path, "/proc/%s/ns/%s", pids[p], kinds[k]);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) { if (!first_err) first_err = errno; continue; }
      opened++;
      pid_t pid = fork();
      if (pid == 0) _exit(setns(fd, 0) == 0 ? 0 : (errno & 0x7f) + 1);
      int st = 0;
      waitpid(pid, &st, 0);
      close(fd);
      int code = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
      if (code == 0) {
        char what[160];
        snprintf(what, sizeof what, "setns(%s) succeeded", path);
        escaped("setns", what);
        return;
      }
      if (code - 1 != EPERM && code - 1 != ENOSYS) {
        char what[160];
        snprintf(what, sizeof what, "setns(%s) reached kernel (%s)", path, ename(code - 1));
        escaped("setns", what);
        return;
      }
      setns_err = code - 1;
    }
  }
  char why[128];
  snprintf(why, sizeof why, "%s (%d ns files opened, setns refused; open: %s)", ename(setns_err ? setns_err : first_err), opened,
           ename(first_err));
  blocked("setns", why);
}

/* nsfs ioctls hand out fds of parent/owning namespaces: from the sandbox's own namespaces they must
 * not reach the host's (NS_GET_PARENT = _IO(0xb7, 2), NS_GET_USERNS = _IO(0xb7, 1)). */
static void p_nsfs_parent(void) {
  const char* kinds[] = {"user", "pid", "net", "mnt", NULL};
  char why[160] = "";
  for (int k = 0; kinds[k]; k++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/ns/%s", kinds[k]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    for (unsigned long req = 0xb701; req <= 0xb702; req++) {
      errno = 0;
      int up = ioctl(fd, req, 0);
      if (up >= 0) {
        char link[64] = "", own[64] = "";
        snprintf(path, sizeof path, "/proc/self/fd/%d", up);
        (void)!readlink(path, link, sizeof link - 1);
        (void)!readlink("/proc/self/ns/user", own, sizeof own - 1);
        close(up);
        if (strcmp(link, own) != 0) {  /* anything but our own user namespace is a handle outside */
          char what[160];
          snprintf(what, sizeof what, "%s of the %s namespace gave %s", req == 0xb702 ? "NS_GET_PARENT" : "NS_GET_USERNS",
                   kinds[k], link);
          close(fd);
          escaped("nsfs_parent", what);
          return;
        }
      } else if (req == 0xb702) {
        size_t n = strlen(why);
        snprintf(why + n, sizeof why - n, "%s%s:%s", n ? " " : "", kinds[k], ename(errno));
      }
    }
    close(fd);
  }
  blocked("nsfs_parent", why[0] ? why : "no namespace files");
}

static void p_keyctl(void) {
  JUDGE("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0), "keyctl");
}

static void p_keyring_read(void) {
  char buf[256];
  long id = atol(param("keyid", "0"));
  errno = 0;
  long n = syscall(SYS_keyctl, 11 /* KEYCTL_READ */, id, buf, sizeof buf);
  if (n >= 0) { escaped("keyring_read", "read the launching session's key"); return; }
  blocked_errno("keyring_read", errno);
}

static void p_bpf(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insn_cnt = 0; /* a trivially invalid program */
  attr.insns = 0;
  attr.license = 0;
  JUDGE("bpf", syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr), "bpf(BPF_PROG_LOAD)");
}

static void p_perf(void) {
  JUDGE("perf_event_open", syscall(SYS_perf_event_open, BAD_PTR, 0, -1, -1, 0), "perf_event_open");
}

static void p_userfaultfd(void) {
  JUDGE("userfaultfd", syscall(SYS_userfaultfd, 0x7fff0000 /* invalid flags */), "userfaultfd");
}

/* io_uring_setup; if it were allowed, an IORING_OP_OPENAT of the host secret (seccomp never sees
 * io_uring operations). */
static void p_io_uring(void) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  errno = 0;
  long fd = syscall(SYS_io_uring_setup, 4, &p);
  if (fd < 0) { judge("io_uring", fd, errno, "io_uring_setup"); return; }
  int ring = (int)fd;
  size_t sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  char* sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_SQ_RING);
  char* cq = mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED, ring, IORING_OFF_CQ_RING);
  struct io_uring_sqe* sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                                   MAP_SHARED, ring, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
    close(ring);
    escaped("io_uring", "io_uring_setup succeeded (rings not mapped)");
    return;
  }
  unsigned* tail = (unsigned*)(sq + p.sq_off.tail);
  unsigned* array = (unsigned*)(sq + p.sq_off.array);
  unsigned mask = *(unsigned*)(sq + p.sq_off.ring_mask);
  unsigned idx = *tail & mask;
  memset(&sqes[idx], 0, sizeof sqes[idx]);
  sqes[idx].opcode = IORING_OP_OPENAT;
  sqes[idx].fd = AT_FDCWD;
  sqes[idx].addr = (uint64_t)(uintptr_t)param("secret", "/etc/shadow");
  sqes[idx].open_flags = O_RDONLY | O_CLOEXEC;
  array[idx] = idx;
  __atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
  long sub = syscall(SYS_io_uring_enter, ring, 1, 1, 1 /* IORING_ENTER_GETEVENTS */, NULL, 0);
  int res = -1;
  if (sub >= 0) {
    unsigned* chead = (unsigned*)(cq + p.cq_off.head);
    unsigned cmask = *(unsigned*)(cq + p.cq_off.ring_mask);
    struct io_uring_cqe* cqes = (struct io_uring_cqe*)(cq + p.cq_off.cqes);
    res = cqes[*chead & cmask].res;
    if (res >= 0) close(res);
  }
  close(ring);
  char what[128];
  snprintf(what, sizeof what, "io_uring_setup succeeded; OPENAT of the secret: %s", res >= 0 ? "opened" : ename(-res));
  escaped("io_uring", what);
}

static void p_kexec(void) { JUDGE("kexec_load", syscall(SYS_kexec_load, 0, 1, BAD_PTR, 0xdead0000UL), "kexec_load"); }
static void p_init_module(void) { JUDGE("init_module", syscall(SYS_init_module, BAD_PTR, 16, ""), "init_module"); }
static void p_finit_module(void) { JUDGE("finit_module", syscall(SYS_finit_module, -1, "", 0), "finit_module"); }
static void p_delete_module(void) {
  JUDGE("delete_module", syscall(SYS_delete_module, "airlock_no_such_module", O_NONBLOCK), "delete_module");
}
/* Wrong magic numbers: the kernel rejects them with EINVAL right after the capability check. */
static void p_reboot(void) { JUDGE("reboot", syscall(SYS_reboot, 0x1234, 0x5678, 0, NULL), "reboot"); }
static void p_swapon(void) { JUDGE("swapon", syscall(SYS_swapon, "/nonexistent-airlock-swap", 0), "swapon"); }
static void p_settimeofday(void) { JUDGE("settimeofday", syscall(SYS_settimeofday, BAD_PTR, NULL), "settimeofday"); }
static void p_clock_settime(void) {
  JUDGE("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, BAD_PTR), "clock_settime");
}
/* A bad pointer: even a runtime that shares the host's UTS namespace keeps its hostname. */
static void p_sethostname(void) { JUDGE("sethostname", syscall(SYS_sethostname, BAD_PTR, 8), "sethostname"); }

static void p_caps(void) {
  FILE* f = fopen("/proc/self/status", "re");
  if (!f) { blocked_errno("caps", errno); return; }
  char line[256], what[256] = "";
  int nonzero = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long long v;
    char name[16];
    if (sscanf(line, "Cap%15[A-Za-z]: %llx", name, &v) == 2 && v != 0) {
      size_t n = strlen(what);
      snprintf(what + n, sizeof what - n, "%sCap%s=%llx", n ? " " : "", name, v);
      nonzero = 1;
    }
  }
  fclose(f);
  if (nonzero) escaped("caps", what);
  else blocked("caps", "CapInh/CapPrm/CapEff/CapBnd/CapAmb all zero");
}

/* Other syscall ABIs of the same process: i386 through `int $0x80` and x32 (nr | 0x40000000). A
 * filter that checks only x86_64 numbers, or allows foreign architectures, lets keyctl/unshare through
 * under their i386/x32 numbers. Both calls are harmless (a keyring id lookup, unshare in a child). */
#if defined(__x86_64__)
static long int80(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory", "r8", "r9", "r10", "r11");
  return ret;
}
#endif

/* Runs one foreign-ABI call in a child: "" if it succeeded, else how it failed. */
static const char* compat_try(int which, char* buf, size_t n) {
  pid_t pid = fork();
  if (pid == 0) {
    long rc = -1;
    int err = 0;
#if defined(__x86_64__)
    if (which == 0) rc = int80(288 /* i386 keyctl */, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0);
    if (which == 1) rc = int80(310 /* i386 unshare */, CLONE_NEWUSER, 0, 0);
    if (rc < 0 && which < 2) err = (int)-rc;
    if (which == 2) { rc = syscall(0x40000000L | 250 /* x32 keyctl */, 0, -3, 0); err = errno; }
#endif
    _exit(rc >= 0 ? 0 : 100 + (err & 0x7f));
  }
  int st = 0;
  waitpid(pid, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return "";
  if (WIFSIGNALED(st)) snprintf(buf, n, "killed by signal %d", WTERMSIG(st));
  else snprintf(buf, n, "%s", ename(WEXITSTATUS(st) - 100));
  return buf;
}

static void p_compat_abi(void) {
#if defined(__x86_64__)
  static const char* names[3] = {"i386 keyctl (int 0x80)", "i386 unshare(CLONE_NEWUSER) (int 0x80)", "x32 keyctl"};
  char why[256] = "", first[64] = "";
  for (int i = 0; i < 3; i++) {
    char buf[64];
    const char* r = compat_try(i, buf, sizeof buf);
    if (i == 0) snprintf(first, sizeof first, "%s", r);
    if (!*r) {
      char what[96];
      snprintf(what, sizeof what, "%s succeeded", names[i]);
      escaped("compat_abi", what);
      return;
    }
    size_t len = strlen(why);
    snprintf(why + len, sizeof why - len, "%s%s: %s", len ? ", " : "", names[i], r);
  }
  char msg[340];
  snprintf(msg, sizeof msg, "%s (%s)", first, why);
  blocked("compat_abi", msg);
#else
  blocked("compat_abi", "not x86_64");
#endif
}

/* Fileless execution: memfd_create + copy of /bin/true + execveat(AT_EMPTY_PATH). */
static void p_memfd_exec(void) {
  errno = 0;
  int m = (int)syscall(SYS_memfd_create, "escape", 0);
  if (m < 0) { blocked_errno("memfd_exec", errno); return; }
  int in = open("/usr/bin/true", O_RDONLY | O_CLOEXEC);
  if (in < 0) { close(m); blocked("memfd_exec", "no /usr/bin/true to copy"); return; }
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0) (void)!write(m, buf, (size_t)n);
  close(in);
  pid_t pid = fork();
  if (pid == 0) {
    char* argv[] = {"true", NULL};
    char* envp[] = {NULL};
    syscall(SYS_execveat, m, "", argv, envp, AT_EMPTY_PATH);
    _exit(100 + (errno & 0x7f));
  }
  close(m);
  int st = 0;
  waitpid(pid, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) escaped("memfd_exec", "executed a memfd copy of /bin/true");
  else if (WIFEXITED(st) && WEXITSTATUS(st) >= 100) blocked_errno("memfd_exec", WEXITSTATUS(st) - 100);
  else blocked("memfd_exec", "child did not run");
}

static const struct probe probes[] = {
    {"mount", p_mount}, {"mount_api", p_mount_api}, {"umount", p_umount}, {"pivot_root", p_pivot_root},
    {"unshare_userns", p_unshare_userns}, {"clone3", p_clone3}, {"setns", p_setns}, {"nsfs_parent", p_nsfs_parent}, {"keyctl", p_keyctl},
    {"keyring_read", p_keyring_read}, {"bpf", p_bpf}, {"perf_event_open", p_perf}, {"userfaultfd", p_userfaultfd},
    {"io_uring", p_io_uring}, {"kexec_load", p_kexec}, {"init_module", p_init_module},
    {"finit_module", p_finit_module}, {"delete_module", p_delete_module}, {"reboot", p_reboot},
    {"swapon", p_swapon}, {"settimeofday", p_settimeofday}, {"clock_settime", p_clock_settime},
    {"sethostname", p_sethostname}, {"compat_abi", p_compat_abi}, {"caps", p_caps}, {"memfd_exec", p_memfd_exec},
    {NULL, NULL}};

int main(int argc, char** argv) { return probe_main(argc, argv, "escape_kernel", probes); }
