/* escape_resource: attacker probes that try to exhaust the HOST's resources from inside a sandbox
 * (tests/escape/escape_resource_test.cc): a fork bomb, a memory hog, an inode flood and a disk fill.
 *
 * Usage: escape_resource PROBE|all [key=value ...]
 *   n=N        forkbomb: processes to reach (default 1100); inodes: files to create (default 70000)
 *   mb=N       memhog, diskfill: MiB to touch / write (default 256)
 *   dir=PATH   inodes, diskfill: where to create files (default /tmp)
 *   secs=N     give up after N seconds and print TIMEOUT (default 20)
 *   direct=1   run the probe in this process instead of a forked child (memhog: an OOM kill then
 *              ends the payload itself, so the run report says killed-by-limit)
 * Each probe prints "PROBE <name> BLOCKED <errno> after <count>" when the sandbox's bound stopped it,
 * "PROBE <name> ESCAPED <count>" when it reached its target (the bound is missing or above the
 * target), or "PROBE <name> TIMEOUT ..." when it ran out of time (neither: the test fails).
 * The attacker caps itself at its target, so a missing bound costs the host at most the target (a
 * control run raises the sandbox's limit above the target instead of removing every bound). Every
 * process, file and page it makes lives inside the sandbox and goes with it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "escape_probe.h"

static long lparam(const char* key, long fallback) {
  const char* v = param(key, NULL);
  return v ? atol(v) : fallback;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* 1 when the probe's time is up (checked every iteration; the loops are cheap). */
static int out_of_time(double start) { return now_s() - start > (double)lparam("secs", 20); }

static void result(const char* probe, int err, long done, long target, const char* unit, int timed_out) {
  if (timed_out) {
    printf("PROBE %s TIMEOUT after %ld %s of %ld\n", probe, done, unit, target);
  } else if (done >= target) {
    printf("PROBE %s ESCAPED %ld %s\n", probe, done, unit);
  } else {
    printf("PROBE %s BLOCKED %s after %ld %s\n", probe, ename(err), done, unit);
  }
}

/* Forks children that wait on a pipe until `n` exist or fork fails (EAGAIN at pids.max or
 * RLIMIT_NPROC); closing the pipe then ends them all. */
static void p_forkbomb(void) {
  long n = lparam("n", 1100), made = 0;
  int err = 0, timed_out = 0, p[2];
  double start = now_s();
  if (pipe2(p, O_CLOEXEC) != 0) {
    blocked_errno("forkbomb", errno);
    return;
  }
  for (; made < n; made++) {
    if ((timed_out = out_of_time(start))) break;
    pid_t c = fork();
    if (c < 0) {
      err = errno;
      break;
    }
    if (c == 0) {
      char b;
      close(p[1]);
      ssize_t r = read(p[0], &b, 1);
      (void)r;
      _exit(0);
    }
  }
  close(p[1]);
  while (wait(NULL) > 0) {
  }
  result("forkbomb", err, made, n, "processes", timed_out);
}

/* Maps and touches 1 MiB at a time: ENOMEM (RLIMIT_AS) or an OOM kill (cgroup memory limit) stops it. */
static void p_memhog(void) {
  long mb = lparam("mb", 256), got = 0;
  int err = 0, timed_out = 0;
  double start = now_s();
  for (; got < mb; got++) {
    if ((timed_out = out_of_time(start))) break;
    char* m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      err = errno;
      break;
    }
    memset(m, 0xa5, 1 << 20);
  }
  result("memhog", err, got, mb, "MiB", timed_out);
}

/* Empty files until the filesystem has no inode left (ENOSPC at the tmpfs's nr_inodes). */
static void p_inodes(void) {
  long n = lparam("n", 70000), made = 0;
  int err = 0, timed_out = 0;
  double start = now_s();
  char sub[4096];
  snprintf(sub, sizeof sub, "%s/inodes.%d", param("dir", "/tmp"), (int)getpid());
  if (mkdir(sub, 0700) != 0) {
    blocked_errno("inodes", errno);
    return;
  }
  int dfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    blocked_errno("inodes", errno);
    return;
  }
  for (; made < n; made++) {
    if ((made & 1023) == 0 && (timed_out = out_of_time(start))) break;
    char name[32];
    snprintf(name, sizeof name, "%ld", made);
    int fd = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
      err = errno;
      break;
    }
    close(fd);
  }
  close(dfd);
  result("inodes", err, made, n, "files", timed_out);
}

/* Writes 1 MiB at a time into one file until `mb` or ENOSPC (the tmpfs's size). */
static void p_diskfill(void) {
  long mb = lparam("mb", 256), wrote = 0;
  int err = 0, timed_out = 0;
  double start = now_s();
  char path[4096];
  snprintf(path, sizeof path, "%s/fill.%d", param("dir", "/tmp"), (int)getpid());
  int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    blocked_errno("diskfill", errno);
    return;
  }
  static char buf[1 << 20];
  memset(buf, 0x5a, sizeof buf);
  for (; wrote < mb; wrote++) {
    if ((timed_out = out_of_time(start))) break;
    size_t off = 0;
    while (off < sizeof buf) {
      ssize_t w = write(fd, buf + off, sizeof buf - off);
      if (w <= 0) {
        err = w < 0 ? errno : ENOSPC;
        break;
      }
      off += (size_t)w;
    }
    if (off < sizeof buf) break;
  }
  close(fd);
  result("diskfill", err, wrote, mb, "MiB", timed_out);
}

static const struct probe kProbes[] = {
    {"forkbomb", p_forkbomb},
    {"memhog", p_memhog},
    {"inodes", p_inodes},
    {"diskfill", p_diskfill},
    {NULL, NULL},
};

int main(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && strcmp(param("direct", "0"), "1") == 0) {
    for (const struct probe* p = kProbes; p->name; p++) {
      if (strcmp(argv[1], p->name) == 0) {
        p->fn();
        return 0;
      }
    }
  }
  return probe_main(argc, argv, "escape_resource", kProbes);
}
