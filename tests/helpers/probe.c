/* probe: a small program run INSIDE sandboxes by the integration tests. Each subcommand tries one
 * thing and prints a single result line; it never does anything harmful to the host even if the
 * sandbox failed (bounded loops, invalid arguments, no writes outside its own tmp). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int fds(void) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) { printf("error %s\n", strerror(errno)); return 1; }
  int self = dirfd(d);
  struct dirent* e;
  printf("fds");
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (atoi(e->d_name) == self) continue;
    printf(" %s", e->d_name);
  }
  printf("\n");
  closedir(d);
  return 0;
}

static int forkbomb(int n) {
  int ok = 0;
  for (int i = 0; i < n; i++) {
    pid_t p = fork();
    if (p < 0) break;
    if (p == 0) { pause(); _exit(0); }
    ok++;
  }
  printf("forked %d\n", ok);
  fflush(stdout);
  kill(0, SIGKILL);
  return 0;
}

static int memhog(long mb) {
  long total = 0;
  for (long i = 0; i < mb; i++) {
    char* p = malloc(1 << 20);
    if (!p) { printf("malloc failed after %ld MiB\n", total); return 3; }
    memset(p, 1, 1 << 20);
    total++;
  }
  printf("allocated %ld MiB\n", total);
  return 0;
}

static int tcp_connect(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) { printf("socket %s\n", strerror(errno)); return 0; }
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((unsigned short)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr*)&a, sizeof a) == 0) printf("connected\n");
  else printf("connect %s\n", strerror(errno));
  return 0;
}

static int keyread(long id) {
  char buf[256];
  long n = syscall(SYS_keyctl, 11 /* KEYCTL_READ */, id, buf, sizeof buf);
  if (n >= 0) printf("read %.*s\n", (int)(n > 255 ? 255 : n), buf);
  else printf("keyctl %s\n", strerror(errno));
  return 0;
}

static int try_open(const char* path, const char* mode) {
  int flags = strcmp(mode, "w") == 0 ? O_WRONLY : O_RDONLY;
  int fd = open(path, flags | O_CLOEXEC);
  if (fd >= 0) printf("opened\n");
  else printf("open %s\n", strerror(errno));
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) { fprintf(stderr, "usage: probe CMD [ARG]\n"); return 2; }
  const char* c = argv[1];
  if (!strcmp(c, "fds")) return fds();
  if (!strcmp(c, "forkbomb") && argc > 2) return forkbomb(atoi(argv[2]));
  if (!strcmp(c, "memhog") && argc > 2) return memhog(atol(argv[2]));
  if (!strcmp(c, "connect") && argc > 2) return tcp_connect(atoi(argv[2]));
  if (!strcmp(c, "keyread") && argc > 2) return keyread(atol(argv[2]));
  if (!strcmp(c, "open") && argc > 3) return try_open(argv[2], argv[3]);
  if (!strcmp(c, "sid")) { printf("sid %s\n", getsid(0) == getpid() ? "leader" : "inherited"); return 0; }
  if (!strcmp(c, "sleep") && argc > 2) { sleep((unsigned)atoi(argv[2])); printf("slept\n"); return 0; }
  if (!strcmp(c, "exit") && argc > 2) return atoi(argv[2]);
  if (!strcmp(c, "signal") && argc > 2) { kill(getpid(), atoi(argv[2])); pause(); return 0; }
  fprintf(stderr, "probe: unknown command %s\n", c);
  return 2;
}
