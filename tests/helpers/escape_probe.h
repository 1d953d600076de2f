/* The probe scaffolding shared by the escape_*.c attacker programs: argument lookup and the one-line
 * result format "PROBE <name> BLOCKED|ESCAPED <detail>" that tests/escape parses.
 * Each program sets g_argc/g_argv in main() before calling param(). */
#ifndef AIRLOCK_TESTS_HELPERS_ESCAPE_PROBE_H
#define AIRLOCK_TESTS_HELPERS_ESCAPE_PROBE_H
#include <stdio.h>
#include <string.h>

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

#endif
