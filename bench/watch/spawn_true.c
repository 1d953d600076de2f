// spawn_true N WARM PROGRAM: WARM unmeasured spawns, then N times fork + execv(PROGRAM) + waitpid, one
// at a time, after a line on stdin (so it can be started before an execution gate that would refuse
// its own exec). Prints the
// per-spawn latency in microseconds: mean p50 p90 p99 max, and the wall time.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}
static int Cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  int n = atoi(argv[1]), warm = atoi(argv[2]);
  char line[16];
  if (fgets(line, sizeof line, stdin) == NULL) return 3;
  for (int i = 0; i < warm; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      execv(argv[3], argv + 3);
      _exit(127);
    }
    waitpid(pid, NULL, 0);
  }
  double* lat = calloc((size_t)n, sizeof *lat);
  int failed = 0;
  double start = Now();
  for (int i = 0; i < n; ++i) {
    double t0 = Now();
    pid_t pid = fork();
    if (pid == 0) {
      execv(argv[3], argv + 3);
      _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ++failed;
    lat[i] = Now() - t0;
  }
  double wall = Now() - start;
  qsort(lat, (size_t)n, sizeof *lat, Cmp);
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += lat[i];
  printf("n=%d failed=%d mean=%.1f p50=%.1f p90=%.1f p99=%.1f max=%.1f wall_s=%.3f\n", n, failed, sum / n, lat[n / 2],
         lat[n * 9 / 10], lat[n * 99 / 100], lat[n - 1], wall / 1e6);
  return 0;
}
