/* escape_fs: attacker probes that try to reach HOST FILES from inside a sandbox (tests/escape).
 *
 * Usage: escape_fs PROBE|all [key=value ...]
 *   secret=PATH      absolute host path of a secret file the test created (default /etc/shadow)
 *   secretname=NAME  its base name (for openat relative to leaked directory fds)
 *   hostpid=N        a host process id (for /proc/N/root)
 * Each probe prints exactly one line "PROBE <name> BLOCKED <why>" or "PROBE <name> ESCAPED <what>"
 * and the program exits 0. Every probe is harmless to the host even if the sandbox failed: reads
 * only, opens for writing are closed without writing, files it creates are its own and removed,
 * loops are bounded. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "escape_probe.h"

static const char* secret(void) { return param("secret", "/etc/shadow"); }

/* Reads up to 64 bytes from an fd; returns 1 if anything was read. */
static int read_some(int fd) {
  char buf[64];
  return read(fd, buf, sizeof buf) > 0;
}

static void try_open_read(const char* probe, const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { blocked_errno(probe, errno); return; }
  int got = read_some(fd);
  close(fd);
  char what[512];
  snprintf(what, sizeof what, "opened %s%s", path, got ? " and read it" : "");
  escaped(probe, what);
}

static void p_read_direct(void) { try_open_read("read_direct", secret()); }

static void p_proc1_root(void) {
  char path[4096];
  snprintf(path, sizeof path, "/proc/1/root%s", secret());
  try_open_read("proc1_root", path);
}

static void p_procpid_root(void) {
  char path[4096];
  snprintf(path, sizeof path, "/proc/%s/root%s", param("hostpid", "1"), secret());
  try_open_read("procpid_root", path);
}

/* CVE-2024-21626 style: a host directory fd leaked into the sandbox. Try every fd 3..1023 with
 * openat(fd, name) and with /proc/self/fd/N/name, and init's fds through /proc/1/fd/N. */
static void p_leaked_fds(void) {
  const char* name = param("secretname", "shadow");
  char path[4096], what[4200];
  int open_fds = 0;
  for (int fd = 3; fd < 1024; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) open_fds++;
    else continue;
    const char* rels[] = {name, "../", NULL};
    for (int i = 0; rels[i]; i++) {
      int f = openat(fd, rels[i], O_RDONLY | O_CLOEXEC);
      if (f >= 0) {
        struct stat st;
        int is_dir = fstat(f, &st) == 0 && S_ISDIR(st.st_mode);
        close(f);
        /* "../" of a non-directory fails; of a directory outside the sandbox root it is a way out.
         * Inside the sandbox a directory fd is fine only if it is the payload's own (none are kept). */
        snprintf(what, sizeof what, "openat(fd %d, \"%s\")%s", fd, rels[i], is_dir ? " (directory)" : "");
        escaped("leaked_fds", what);
        return;
      }
    }
  }
  for (int fd = 3; fd < 1024; fd++) {
    snprintf(path, sizeof path, "/proc/self/fd/%d/%s", fd, name);
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f >= 0) { close(f); snprintf(what, sizeof what, "opened %s", path); escaped("leaked_fds", what); return; }
    /* The runtime's own pid 1 may hold host directories (its old root, its build tree). */
    snprintf(path, sizeof path, "/proc/1/fd/%d", fd);
    f = open(path, O_PATH | O_CLOEXEC);
    if (f >= 0) {
      struct stat st;
      int dir = fstat(f, &st) == 0 && S_ISDIR(st.st_mode);
      int s = dir ? openat(f, name, O_RDONLY | O_CLOEXEC) : -1;
      close(f);
      if (s >= 0) close(s);
      if (dir) {
        snprintf(what, sizeof what, "init's %s is a directory%s", path, s >= 0 ? " holding the secret" : "");
        escaped("leaked_fds", what);
        return;
      }
    }
  }
  snprintf(what, sizeof what, "no usable fd (%d open besides stdio)", open_fds);
  blocked("leaked_fds", what);
}

/* Shocker: forge or reuse a file handle and open it with open_by_handle_at. */
static void p_open_by_handle(void) {
  struct { struct file_handle h; unsigned char bytes[128]; } fh;
  memset(&fh, 0, sizeof fh);
  fh.h.handle_bytes = sizeof fh.bytes;
  int mount_id = 0;
  int name_rc = name_to_handle_at(AT_FDCWD, "/", &fh.h, &mount_id, 0);
  int name_err = errno;
  if (name_rc != 0) {
    /* Forge the classic handle of an ext4 root inode (FILEID_INO32_GEN, inode 2, generation 0). */
    fh.h.handle_bytes = 8;
    fh.h.handle_type = 1;
    unsigned ino = 2, gen = 0;
    memcpy(fh.bytes, &ino, 4);
    memcpy(fh.bytes + 4, &gen, 4);
  }
  int mfd = open("/usr", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = open_by_handle_at(mfd >= 0 ? mfd : AT_FDCWD, &fh.h, O_RDONLY | O_CLOEXEC);
  int open_err = errno;
  if (mfd >= 0) close(mfd);
  if (fd >= 0) {
    close(fd);
    escaped("open_by_handle", name_rc == 0 ? "open_by_handle_at of \"/\" succeeded" : "forged handle opened");
    return;
  }
  char why[128];
  snprintf(why, sizeof why, "%s (name_to_handle_at %s)", ename(open_err), name_rc == 0 ? "ok" : ename(name_err));
  blocked("open_by_handle", why);
}

/* chroot into a subdirectory, climb out with chdir(".."), chroot(".") and look for the secret. */
static void p_chroot_dotdot(void) {
  char jail[] = "/tmp/escape-jail-XXXXXX";
  if (!mkdtemp(jail)) { blocked_errno("chroot_dotdot", errno); return; }
  pid_t pid = fork();
  if (pid == 0) {
    if (chroot(jail) != 0) { blocked_errno("chroot_dotdot", errno); fflush(stdout); _exit(0); }
    for (int i = 0; i < 64; i++) (void)chdir("..");
    (void)chroot(".");
    int fd = open(secret(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) escaped("chroot_dotdot", "secret readable after chroot + chdir(..)");
    else blocked("chroot_dotdot", "chroot allowed but the climb stays inside the sandbox root");
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  rmdir(jail);
}

static void try_open_dev(const char* probe, const char* path, int flags) {
  int fd = open(path, flags | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) { blocked_errno(probe, errno); return; }
  close(fd);
  char what[256];
  snprintf(what, sizeof what, "opened %s", path);
  escaped(probe, what);
}

static void p_dev_mem(void) { try_open_dev("dev_mem", "/dev/mem", O_RDONLY); }
static void p_dev_kmsg(void) { try_open_dev("dev_kmsg", "/dev/kmsg", O_RDONLY); }
static void p_dev_kvm(void) { try_open_dev("dev_kvm", "/dev/kvm", O_RDWR); }

static void p_dev_block(void) {
  const char* devs[] = {"/dev/vda", "/dev/sda", "/dev/nvme0n1", "/dev/xvda", "/dev/vdb", "/dev/loop0", "/dev/dm-0", NULL};
  int first_err = 0;
  for (int i = 0; devs[i]; i++) {
    int fd = open(devs[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) {
      close(fd);
      char what[128];
      snprintf(what, sizeof what, "opened %s", devs[i]);
      escaped("dev_block", what);
      return;
    }
    if (!first_err) first_err = errno;
  }
  blocked_errno("dev_block", first_err);
}

/* Open for writing and close WITHOUT writing: reachability only. */
static void try_open_write(const char* probe, const char* path) {
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) { blocked_errno(probe, errno); return; }
  close(fd);
  char what[256];
  snprintf(what, sizeof what, "%s opened for writing", path);
  escaped(probe, what);
}

static void p_sysrq(void) { try_open_write("sysrq_trigger", "/proc/sysrq-trigger"); }
static void p_core_pattern(void) { try_open_write("core_pattern", "/proc/sys/kernel/core_pattern"); }

static void p_release_agent(void) {
  glob_t g;
  int rc = glob("/sys/fs/cgroup/*/release_agent", 0, NULL, &g);
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; i++) {
      int fd = open(g.gl_pathv[i], O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        close(fd);
        char what[512];
        snprintf(what, sizeof what, "%s opened for writing", g.gl_pathv[i]);
        globfree(&g);
        escaped("release_agent", what);
        return;
      }
    }
    globfree(&g);
  }
  /* The classic route mounts a v1 cgroup hierarchy first. */
  char dir[] = "/tmp/escape-cg-XXXXXX";
  if (mkdtemp(dir)) {
    if (mount("cgroup", dir, "cgroup", 0, "rdma") == 0) {
      umount2(dir, MNT_DETACH);
      rmdir(dir);
      escaped("release_agent", "mounted a cgroup v1 hierarchy");
      return;
    }
    int e = errno;
    rmdir(dir);
    char why[96];
    snprintf(why, sizeof why, "no release_agent; cgroup mount %s", ename(e));
    blocked("release_agent", why);
    return;
  }
  blocked("release_agent", "no release_agent");
}

/* CVE-2019-5736 style: overwrite the runtime binary through /proc/<pid>/exe. Opens only. */
static void p_proc_exe(void) {
  const char* paths[] = {"/proc/1/exe", "/proc/self/exe", NULL};
  char why[160] = "";
  for (int i = 0; paths[i]; i++) {
    int fd = open(paths[i], O_WRONLY | O_CLOEXEC);
    if (fd >= 0) { close(fd); char w[96]; snprintf(w, sizeof w, "%s opened for writing", paths[i]); escaped("proc_exe", w); return; }
    size_t n = strlen(why);
    snprintf(why + n, sizeof why - n, "%s%s:%s", n ? " " : "", paths[i] + 6, ename(errno));
    /* Reopen through an O_PATH descriptor, as the runc exploit did. */
    int p = open(paths[i], O_PATH | O_CLOEXEC);
    if (p >= 0) {
      char fdpath[64];
      snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", p);
      fd = open(fdpath, O_WRONLY | O_CLOEXEC);
      close(p);
      if (fd >= 0) { close(fd); escaped("proc_exe", "reopened exe for writing via O_PATH"); return; }
    }
  }
  blocked("proc_exe", why);
}

/* Writing into read-only binds: a new file (removed at once if it could be created) and an existing
 * file opened for writing without O_TRUNC and closed unwritten. */
static void p_ro_bind_write(void) {
  const char* dirs[] = {param("rodir", "/usr"), "/etc", NULL};
  char why[256] = "";
  for (int i = 0; dirs[i]; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/.airlock-escape-probe", dirs[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      close(fd);
      unlink(path);
      char w[4200];
      snprintf(w, sizeof w, "created %s", path);
      escaped("ro_bind_write", w);
      return;
    }
    size_t n = strlen(why);
    snprintf(why + n, sizeof why - n, "%s%s:%s", n ? " " : "", dirs[i], ename(errno));
  }
  int fd = open("/usr/bin/true", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) { close(fd); escaped("ro_bind_write", "/usr/bin/true opened for writing"); return; }
  blocked("ro_bind_write", why);
}

/* A setuid copy of this very program in /tmp: run with "ids" it prints its euid and CapEff. */
static void p_setuid_copy(void) {
  const char* copy = "/tmp/escape-suid";
  int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int out = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (in < 0 || out < 0) { blocked_errno("setuid_copy", errno); if (in >= 0) close(in); if (out >= 0) close(out); return; }
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0) (void)!write(out, buf, (size_t)n);
  close(in);
  close(out);
  if (chmod(copy, 04755) != 0) { blocked_errno("setuid_copy", errno); unlink(copy); return; }
  int p[2];
  if (pipe(p) != 0) { blocked_errno("setuid_copy", errno); unlink(copy); return; }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    execl(copy, copy, "ids", (char*)NULL);
    _exit(127);
  }
  close(p[1]);
  char res[256] = "";
  ssize_t got = read(p[0], res, sizeof res - 1);
  close(p[0]);
  int st;
  waitpid(pid, &st, 0);
  unlink(copy);
  if (got <= 0) { blocked("setuid_copy", "setuid copy did not run"); return; }
  res[got] = 0;
  unsigned euid = ~0u;
  unsigned long long capeff = ~0ull;
  sscanf(res, "euid=%u capeff=%llx", &euid, &capeff);
  char what[160];
  snprintf(what, sizeof what, "euid %u->%u capeff %llx", (unsigned)geteuid(), euid, capeff);
  if (euid != geteuid() || capeff != 0) escaped("setuid_copy", what);
  else blocked("setuid_copy", "nosuid/no_new_privs: euid and capabilities unchanged");
}

static int print_ids(void) {
  unsigned long long capeff = ~0ull;
  FILE* f = fopen("/proc/self/status", "re");
  char line[256];
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "CapEff: %llx", &capeff) == 1) break;
  if (f) fclose(f);
  printf("euid=%u capeff=%llx\n", (unsigned)geteuid(), capeff);
  return 0;
}

/* Fill /tmp: bounded at 96 MiB; the default profile's tmpfs is 64m. */
static void p_tmp_fill(void) {
  const char* path = "/tmp/escape-fill";
  long limit_mb = atol(param("fill_mb", "96"));
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) { blocked_errno("tmp_fill", errno); return; }
  static char chunk[1 << 20];
  memset(chunk, 'A', sizeof chunk);
  long written = 0;
  int err = 0;
  while (written < (limit_mb << 20)) {
    ssize_t n = write(fd, chunk, sizeof chunk);
    if (n <= 0) { err = n < 0 ? errno : ENOSPC; break; }
    written += n;
  }
  close(fd);
  unlink(path);
  char msg[96];
  snprintf(msg, sizeof msg, "%s after %ld MiB", err ? ename(err) : "no error", written >> 20);
  if (err) blocked("tmp_fill", msg);
  else escaped("tmp_fill", msg);
}

static const struct probe probes[] = {
    {"read_direct", p_read_direct}, {"proc1_root", p_proc1_root}, {"procpid_root", p_procpid_root},
    {"leaked_fds", p_leaked_fds}, {"open_by_handle", p_open_by_handle}, {"chroot_dotdot", p_chroot_dotdot},
    {"dev_mem", p_dev_mem}, {"dev_kmsg", p_dev_kmsg}, {"dev_block", p_dev_block}, {"dev_kvm", p_dev_kvm},
    {"sysrq_trigger", p_sysrq}, {"core_pattern", p_core_pattern}, {"release_agent", p_release_agent},
    {"proc_exe", p_proc_exe}, {"ro_bind_write", p_ro_bind_write}, {"setuid_copy", p_setuid_copy},
    {"tmp_fill", p_tmp_fill}, {NULL, NULL}};

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "ids") == 0) return print_ids();
  return probe_main(argc, argv, "escape_fs", probes);
}
