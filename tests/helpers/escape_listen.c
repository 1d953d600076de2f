/* escape_listen: the HOST side of the probes for bench/escape.sh. Listens on TCP 0.0.0.0 (ephemeral
 * port) and on the abstract unix socket NAME, creates a System V shared memory segment and opens a
 * pseudo-terminal, prints "port=N unixname=NAME shmkey=K ptsnum=P" on one line, then accepts and
 * closes connections until SIGTERM or SECONDS (default 600); the segment is removed on the way out.
 * Usage: escape_listen NAME [SECONDS] */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop;
static void on_term(int sig) { (void)sig; g_stop = 1; }

int main(int argc, char** argv) {
  if (argc < 2) { fprintf(stderr, "usage: escape_listen NAME [SECONDS]\n"); return 2; }
  long seconds = argc > 2 ? atol(argv[2]) : 600;
  int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t len = sizeof a;
  if (t < 0 || bind(t, (struct sockaddr*)&a, sizeof a) != 0 || listen(t, 16) != 0 ||
      getsockname(t, (struct sockaddr*)&a, &len) != 0) { perror("tcp"); return 1; }
  int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un ua;
  memset(&ua, 0, sizeof ua);
  ua.sun_family = AF_UNIX;
  size_t n = strlen(argv[1]);
  if (n > sizeof ua.sun_path - 2) n = sizeof ua.sun_path - 2;
  memcpy(ua.sun_path + 1, argv[1], n);
  if (u < 0 || bind(u, (struct sockaddr*)&ua, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) != 0 ||
      listen(u, 16) != 0) { perror("unix"); return 1; }
  key_t key = (key_t)(0x41490000 | (getpid() & 0xffff));
  int shm = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0666);
  int pty = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (pty >= 0) { grantpt(pty); unlockpt(pty); }
  const char* pts = pty >= 0 ? ptsname(pty) : NULL;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("port=%d unixname=%.*s shmkey=%ld ptsnum=%s\n", ntohs(a.sin_port), (int)n, argv[1], shm >= 0 ? (long)key : 0L,
         pts && strrchr(pts, '/') ? strrchr(pts, '/') + 1 : "none");
  fflush(stdout);
  time_t end = time(NULL) + seconds;
  while (!g_stop && time(NULL) < end) {
    struct pollfd p[2] = {{t, POLLIN, 0}, {u, POLLIN, 0}};
    if (poll(p, 2, 1000) <= 0) continue;
    for (int i = 0; i < 2; i++) {
      if (!(p[i].revents & POLLIN)) continue;
      int c = accept(p[i].fd, NULL, NULL);
      if (c >= 0) close(c);
    }
  }
  if (shm >= 0) shmctl(shm, IPC_RMID, NULL);
  return 0;
}
