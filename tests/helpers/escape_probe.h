/* The probe scaffolding shared by the escape_*.c attacker programs: argument lookup and the one-line
 * result format "PROBE <name> BLOCKED|ESCAPED <detail>" that tests/escape parses.
 * Each program sets g_argc/g_argv in main() before calling param(). */
#ifndef AIRLOCK_TESTS_HELPERS_ESCAPE_PROBE_H
#define AIRLOCK_TESTS_HELPERS_ESCAPE_PROBE_H
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_argc;
static char** g_argv;
__attribute__((unused)) static const char* param(const char* key, const char* fallback) {
  size_t n = strlen(key);
  for (int i = 2; i < g_argc; i++)
    if (strncmp(g_argv[i], key, n) == 0 && g_argv[i][n] == '=') return g_argv[i] + n + 1;
  return fallback;
}
__attribute__((unused)) static const char* ename(int e) {
  const char* s = strerrorname_np(e);
  return s ? s : "E?";
}
__attribute__((unused)) static void blocked(const char* probe, const char* why) { printf("PROBE %s BLOCKED %s\n", probe, why); }
__attribute__((unused)) static void blocked_errno(const char* probe, int e) { blocked(probe, ename(e)); }
__attribute__((unused)) static void escaped(const char* probe, const char* what) { printf("PROBE %s ESCAPED %s\n", probe, what); }

struct probe {
  const char* name;
  void (*fn)(void);
};

/* Runs one probe in a forked child, so a probe killed by seccomp (SIGSYS) or a crash is reported as
 * BLOCKED and does not stop the others. */
__attribute__((unused)) static void run_isolated(const struct probe* p) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    p->fn();
    fflush(stdout);
    _exit(0);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) < 0) {
    printf("PROBE %s BLOCKED fork %s\n", p->name, ename(errno));
    return;
  }
  if (WIFSIGNALED(st)) printf("PROBE %s BLOCKED killed by signal %d\n", p->name, WTERMSIG(st));
}

/* main() of an escape_* program: `PROG PROBE|all [key=value...]` over a NULL-terminated table. */
__attribute__((unused)) static int probe_main(int argc, char** argv, const char* prog, const struct probe* probes) {
  g_argc = argc;
  g_argv = argv;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: %s PROBE|all [key=value...]\n", prog);
    return 2;
  }
  int all = strcmp(argv[1], "all") == 0, found = 0;
  for (const struct probe* p = probes; p->name; p++) {
    if (all || strcmp(argv[1], p->name) == 0) {
      run_isolated(p);
      found = 1;
    }
  }
  if (!found) {
    fprintf(stderr, "%s: unknown probe %s\n", prog, argv[1]);
    return 2;
  }
  return 0;
}

#endif
