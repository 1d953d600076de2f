/* Event generator for the monitor's sustained-rate benchmark: WORKERS processes each create, write
 * and unlink a file in a loop (each iteration is two monitored calls: openat(O_CREAT) and unlink),
 * then prints "<events> <seconds> <events/s>" measured around the loops only.
 * Usage: event_storm DIR ITERATIONS [WORKERS] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int Loop(const char* dir, long n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/storm.%d", dir, (int)getpid());
  for (long i = 0; i < n; ++i) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, "x", 1) != 1 || close(fd) != 0 || unlink(path) != 0) {
      perror(path);
      return 1;
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: event_storm DIR ITERATIONS [WORKERS]\n");
    return 2;
  }
  long n = strtol(argv[2], NULL, 10);
  int workers = argc == 4 ? atoi(argv[3]) : 1;
  if (n <= 0 || workers <= 0 || workers > 64) return 2;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int w = 0; w < workers; ++w) {
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) _exit(Loop(argv[1], n));
  }
  int failed = 0;
  for (int status; wait(&status) > 0;) failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (failed) return 1;
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  long events = 2 * n * workers;
  printf("%ld %.3f %.0f\n", events, s, (double)events / s);
  return 0;
}
