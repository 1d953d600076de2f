/* escape_proc: attacker probes against HOST PROCESSES, the terminal, the environment and resource
 * limits (tests/escape). Usage: escape_proc PROBE|all [hostpid=N] [forks=N] [mb=N]
 *   hostpid  a host process the test started (a sleep) that must survive ptrace/kill attempts
 *   forks    fork-bomb bound (default 500); mb memory-hog bound in MiB (default 256)
 * One line per probe ("PROBE <name> BLOCKED|ESCAPED ..."), exit 0. Bounded and harmless: the only
 * signal sent is to the test's own sleep process, a ptrace attach is detached at once, the fork bomb
 * and memory hog are bounded and clean up after themselves. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "escape_probe.h"

extern char** environ;

/* The host pid, or 0 when it is missing or small enough to collide with the sandbox's own pids. */
static pid_t host_pid(void) {
  long p = atol(param("hostpid", "0"));
  return p > 16 ? (pid_t)p : 0;
}

static void p_ptrace(void) {
  pid_t pid = host_pid();
  if (!pid) { blocked("ptrace", "no hostpid given"); return; }
  errno = 0;
  if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0) {
    waitpid(pid, NULL, __WALL);
    ptrace(PTRACE_DETACH, pid, NULL, NULL);
    escaped("ptrace", "PTRACE_ATTACH to the host process succeeded (detached)");
    return;
  }
  int e = errno;
  /* PTRACE_SEIZE needs no stop; process_vm_readv reads memory without attaching. */
  if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) == 0) {
    ptrace(PTRACE_DETACH, pid, NULL, NULL);
    escaped("ptrace", "PTRACE_SEIZE of the host process succeeded");
    return;
  }
  blocked_errno("ptrace", e);
}

static void p_kill(void) {
  pid_t pid = host_pid();
  if (!pid) { blocked("kill", "no hostpid given"); return; }
  errno = 0;
  if (kill(pid, SIGKILL) == 0) { escaped("kill", "SIGKILL delivered to the host process"); return; }
  int e = errno;
  long pfd = syscall(SYS_pidfd_open, pid, 0);
  if (pfd >= 0) {
    long rc = syscall(SYS_pidfd_send_signal, (int)pfd, SIGKILL, NULL, 0);
    close((int)pfd);
    if (rc == 0) { escaped("kill", "pidfd_send_signal delivered SIGKILL to the host process"); return; }
  }
  blocked_errno("kill", e);
}

/* Host environment secrets: our own environ and every /proc/N/environ we can read. */
static void p_environ(void) {
  const char* needle = "AIRLOCK_ESCAPE_SECRET";
  for (char** e = environ; *e; e++)
    if (strstr(*e, needle)) { escaped("environ", "secret in own environment"); return; }
  DIR* d = opendir("/proc");
  int readable = 0, denied = 0;
  struct dirent* de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/%s/environ", de->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { denied++; continue; }
    static char buf[1 << 16];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) { denied++; continue; }
    readable++;
    buf[n] = 0;
    for (ssize_t i = 0; i < n; i++) if (!buf[i]) buf[i] = '\n';
    if (strstr(buf, needle)) {
      char what[400];
      snprintf(what, sizeof what, "secret in %s", path);
      closedir(d);
      escaped("environ", what);
      return;
    }
  }
  if (d) closedir(d);
  char why[96];
  snprintf(why, sizeof why, "not found (%d environ files read, %d denied)", readable, denied);
  blocked("environ", why);
}

/* TIOCSTI pushes a character into the terminal's input queue: the shell outside would run it.
 * Tried on stdio and /dev/tty, with the plain request and with the high 32 bits set (the kernel
 * truncates the request to 32 bits; a filter comparing 64 bits would miss it). */
static void p_tiocsti(void) {
  int fds[4] = {0, 1, 2, -1};
  fds[3] = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  int tty_err = fds[3] < 0 ? errno : 0;
  const unsigned long reqs[2] = {TIOCSTI, (unsigned long)TIOCSTI | 0x100000000UL};
  char why[200] = "";
  for (int i = 0; i < 4; i++) {
    if (fds[i] < 0) continue;
    for (int r = 0; r < 2; r++) {
      char c = '#';
      errno = 0;
      if (syscall(SYS_ioctl, fds[i], reqs[r], &c) == 0) {
        char what[96];
        snprintf(what, sizeof what, "TIOCSTI%s on fd %d injected a character", r ? "|1<<32" : "", i == 3 ? fds[3] : i);
        if (fds[3] >= 0) close(fds[3]);
        escaped("tiocsti", what);
        return;
      }
      if (i == 0) {
        size_t n = strlen(why);
        snprintf(why + n, sizeof why - n, "%s%s", n ? "/" : "", ename(errno));
      }
    }
  }
  if (fds[3] >= 0) close(fds[3]);
  size_t n = strlen(why);
  snprintf(why + n, sizeof why - n, " (/dev/tty: %s)", tty_err ? ename(tty_err) : "opened");
  blocked("tiocsti", why);
}

/* TIOCLINUX (console selection paste, CVE-2023-1523 class). Subcode 12 = get foreground console:
 * harmless. On a pty the kernel answers EINVAL/ENOTTY; only EPERM means refused by the sandbox. */
static void p_tioclinux(void) {
  char sub = 12;
  errno = 0;
  long rc = syscall(SYS_ioctl, 0, (unsigned long)TIOCLINUX, &sub);
  int e = errno;
  long rc_hi = syscall(SYS_ioctl, 0, (unsigned long)TIOCLINUX | 0x100000000UL, &sub);
  int e_hi = errno;
  char what[96];
  if (rc >= 0 || rc_hi >= 0) { escaped("tioclinux", "TIOCLINUX succeeded"); return; }
  if (e == EPERM && e_hi == EPERM) { blocked_errno("tioclinux", e); return; }
  snprintf(what, sizeof what, "TIOCLINUX reached the tty driver (%s, high bits: %s)", ename(e), ename(e_hi));
  escaped("tioclinux", what);
}

/* System V IPC of the host: the segment the test created must not be found. Attach read-only. */
static void p_sysv_ipc(void) {
  long key = atol(param("shmkey", "1095303168"));
  errno = 0;
  int id = shmget((key_t)key, 0, 0);
  if (id < 0) { blocked_errno("sysv_ipc", errno); return; }
  void* m = shmat(id, NULL, SHM_RDONLY);
  if (m != (void*)-1) shmdt(m);
  escaped("sysv_ipc", m != (void*)-1 ? "attached the host's shared memory segment" : "found the host's segment");
}

/* A host terminal through /dev/pts/N: only a devpts instance of the sandbox's own may be mounted. */
static void p_host_pts(void) {
  char path[64];
  snprintf(path, sizeof path, "/dev/pts/%s", param("ptsnum", "0"));
  int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) { blocked_errno("host_pts", errno); return; }
  close(fd);
  char what[96];
  snprintf(what, sizeof what, "opened the host terminal %s", path);
  escaped("host_pts", what);
}

/* Fork bomb, bounded: children pause until the probe kills its process group. */
static void p_forkbomb(void) {
  int want = atoi(param("forks", "500"));
  pid_t leader = fork();
  if (leader == 0) {
    setpgid(0, 0);
    int ok = 0, err = 0;
    for (int i = 0; i < want; i++) {
      pid_t p = fork();
      if (p < 0) { err = errno; break; }
      if (p == 0) { pause(); _exit(0); }
      ok++;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "%s after %d of %d forks", err ? ename(err) : "no limit", ok, want);
    if (err) blocked("forkbomb", msg);
    else escaped("forkbomb", msg);
    fflush(stdout);
    signal(SIGTERM, SIG_IGN);
    kill(0, SIGKILL);
    _exit(0);
  }
  waitpid(leader, NULL, 0);
  kill(-leader, SIGKILL);
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

/* Memory hog, bounded: a child touches up to mb MiB; an OOM kill or a failing malloc is BLOCKED. */
static void p_memhog(void) {
  long mb = atol(param("mb", "256"));
  int p[2];
  if (pipe(p) != 0) { blocked_errno("memhog", errno); return; }
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    long got = 0;
    for (; got < mb; got++) {
      char* m = malloc(1 << 20);
      if (!m) break;
      memset(m, 1, 1 << 20);
    }
    (void)!write(p[1], &got, sizeof got);
    _exit(0);
  }
  close(p[1]);
  long got = -1;
  ssize_t n = read(p[0], &got, sizeof got);
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  char msg[96];
  if (WIFSIGNALED(st)) {
    snprintf(msg, sizeof msg, "killed by signal %d", WTERMSIG(st));
    blocked("memhog", msg);
  } else if (n == sizeof got && got < mb) {
    snprintf(msg, sizeof msg, "malloc failed after %ld MiB", got);
    blocked("memhog", msg);
  } else {
    snprintf(msg, sizeof msg, "allocated %ld MiB", got);
    escaped("memhog", msg);
  }
}

static const struct probe probes[] = {
    {"ptrace", p_ptrace}, {"kill", p_kill}, {"environ", p_environ}, {"tiocsti", p_tiocsti},
    {"tioclinux", p_tioclinux}, {"sysv_ipc", p_sysv_ipc}, {"host_pts", p_host_pts}, {"forkbomb", p_forkbomb},
    {"memhog", p_memhog}, {NULL, NULL}};

int main(int argc, char** argv) { return probe_main(argc, argv, "escape_proc", probes); }
