/* escape_quota: a sandbox that spends the host-wide per-user counters (tests/escape/escape_quota_test.cc).
 * Usage: escape_quota PROBE|all [key=value...]
 *   share_instances=N  share_watches=N  share_userns=N  share_mq=BYTES   the sandbox's documented shares
 *   max=N       stop each probe after N objects (default: far beyond any share; a host control passes
 *               share+1 so that it proves the probe can see an excess without exhausting the host)
 *   tree=DIR    where inotify_watches finds inodes to watch (default /usr)
 *   hold=1      run the probes in this process, keep everything they created, print "HOLDING" and wait
 *               for EOF on stdin before releasing it (the test checks the host and another sandbox
 *               meanwhile)
 * Each probe prints "PROBE <name> BLOCKED|ESCAPED created=<n> errno=<E> share=<s>": ESCAPED when it
 * created more than its share (the counter has no per-sandbox bound). ns_owner prints whether the
 * sandbox's user namespace is owned by the sandbox's own (outside) uid. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/nsfs.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "escape_probe.h"

#define MAX_CHILDREN 4096
static int g_hold;
static pid_t g_children[MAX_CHILDREN];
static int g_nchildren;
static int g_mq_created;

static long lparam(const char* key, long fallback) {
  const char* v = param(key, NULL);
  return v ? atol(v) : fallback;
}

static void report(const char* probe, long created, long share, int err) {
  char why[128];
  snprintf(why, sizeof why, "created=%ld errno=%s share=%ld", created, err ? ename(err) : "none", share);
  if (created > share) escaped(probe, why);
  else blocked(probe, why);
}

static void p_inotify_instances(void) {
  long share = lparam("share_instances", 32), max = lparam("max", 4000), n = 0;
  int err = 0;
  while (n < max) {
    int fd = inotify_init1(IN_CLOEXEC);
    if (fd < 0) {
      err = errno;
      break;
    }
    n++;
  }
  report("inotify_instances", n, share, err);  /* the descriptors stay open until exit (or the hold) */
}

static int g_watch_fd = -1;
static long g_watches, g_watch_max;
static int g_watch_err;
static int add_watch(const char* path, const struct stat* st, int type, struct FTW* f) {
  (void)st, (void)type, (void)f;
  if (g_watches >= g_watch_max) return 1;
  if (inotify_add_watch(g_watch_fd, path, IN_ATTRIB | IN_DONT_FOLLOW) >= 0) {
    g_watches++;
    return 0;
  }
  if (errno == ENOSPC) {
    g_watch_err = ENOSPC;
    return 1;
  }
  return 0; /* unreadable entry: try the next */
}

static void p_inotify_watches(void) {
  long share = lparam("share_watches", 8192);
  g_watch_max = lparam("max", 200000);
  g_watch_fd = inotify_init1(IN_CLOEXEC);
  if (g_watch_fd < 0) {
    report("inotify_watches", 0, share, errno);
    return;
  }
  nftw(param("tree", "/usr"), add_watch, 32, FTW_PHYS);
  report("inotify_watches", g_watches, share, g_watch_err);
}

static void kill_children(void) {
  for (int i = 0; i < g_nchildren; i++) kill(g_children[i], SIGKILL);
  for (int i = 0; i < g_nchildren; i++) waitpid(g_children[i], NULL, 0);
  g_nchildren = 0;
}

/* Each child creates one user namespace and waits in it (killed at the end, or after the hold). */
static void p_userns(void) {
  long share = lparam("share_userns", 16), max = lparam("max", 200), n = 0;
  int err = 0;
  while (n < max && g_nchildren < MAX_CHILDREN) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
      err = errno;
      break;
    }
    pid_t pid = fork();
    if (pid == 0) {
      char r = unshare(CLONE_NEWUSER) == 0 ? 0 : (char)errno;
      (void)!write(p[1], &r, 1);
      if (r != 0) _exit(1);
      for (;;) pause();
    }
    close(p[1]);
    char r = (char)EAGAIN;
    if (pid < 0 || read(p[0], &r, 1) != 1) r = pid < 0 ? (char)errno : (char)EIO;
    close(p[0]);
    if (pid > 0) g_children[g_nchildren++] = pid;
    if (r != 0) {
      err = r;
      break;
    }
    n++;
  }
  report("userns", n, share, err);
  if (!g_hold) kill_children();
}

static void mq_name(char* buf, size_t len, int i) { snprintf(buf, len, "/airlock-escape-%d-%d", (int)getpid(), i); }

/* Small queues (1 message of 4 KiB: at least 4096 bytes each against RLIMIT_MSGQUEUE). */
static void p_mqueue(void) {
  long share = lparam("share_mq", 204800), max = lparam("max", 4000), n = 0;
  int err = 0;
  struct mq_attr attr = {0, 1, 4096, 0, {0}};
  while (n < max) {
    char name[64];
    mq_name(name, sizeof name, (int)n);
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
    if (q == (mqd_t)-1) {
      err = errno;
      break;
    }
    n++;
  }
  g_mq_created = (int)n;
  char why[128];
  snprintf(why, sizeof why, "created=%ld errno=%s share=%ld", n, err ? ename(err) : "none", share);
  if (n * 4096 > share) escaped("mqueue", why);
  else blocked("mqueue", why);
  if (!g_hold) {
    for (int i = 0; i < g_mq_created; i++) {
      mq_name(why, sizeof why, i);
      mq_unlink(why);
    }
  }
}

static void p_ns_owner(void) {
  int fd = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
  uid_t owner = 0;
  if (fd < 0 || ioctl(fd, NS_GET_OWNER_UID, &owner) != 0) {
    blocked_errno("ns_owner", errno);
    return;
  }
  close(fd);
  char what[96];
  if (owner == getuid()) {
    snprintf(what, sizeof what, "owned by the sandbox's own uid %u", (unsigned)owner);
    blocked("ns_owner", what);
  } else {
    snprintf(what, sizeof what, "owned by a uid outside the sandbox's mapping (seen as %u): host root", (unsigned)owner);
    escaped("ns_owner", what);
  }
}

/* inotify_watches first: it needs an instance of its own before the instances probe takes the rest. */
static const struct probe probes[] = {{"inotify_watches", p_inotify_watches}, {"inotify_instances", p_inotify_instances},
                                      {"userns", p_userns},                   {"mqueue", p_mqueue},
                                      {"ns_owner", p_ns_owner},               {NULL, NULL}};

int main(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
  g_hold = strcmp(param("hold", "0"), "1") == 0;
  if (!g_hold) {
    int rc = probe_main(argc, argv, "escape_quota", probes);
    return rc;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (const struct probe* p = probes; p->name; p++)
    if (argc < 2 || strcmp(argv[1], "all") == 0 || strcmp(argv[1], p->name) == 0) p->fn();
  printf("HOLDING\n");
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
  kill_children();
  for (int i = 0; i < g_mq_created; i++) {
    char name[64];
    mq_name(name, sizeof name, i);
    mq_unlink(name);
  }
  return 0;
}
