/* escape_all: runs every escape probe once (escape_fs, escape_kernel, escape_proc, escape_net, each
 * with "all"), passing its key=value arguments through. The helpers are found beside this program
 * (its argv[0] directory, or /helpers). Used by the escape tier and by bench/escape.sh, which runs the
 * same probes under bubblewrap and firejail. Output: the probes' "PROBE ..." lines; exit 0. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  static const char* helpers[] = {"escape_fs", "escape_kernel", "escape_proc", "escape_net", NULL};
  char dir[4096] = "/helpers";
  const char* slash = strrchr(argv[0], '/');
  if (slash && slash != argv[0]) snprintf(dir, sizeof dir, "%.*s", (int)(slash - argv[0]), argv[0]);
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int h = 0; helpers[h]; h++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, helpers[h]);
    char** args = calloc((size_t)argc + 2, sizeof *args);
    if (!args) return 1;
    args[0] = path;
    args[1] = "all";
    for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      execv(path, args);
      printf("PROBE %s BLOCKED cannot run the helper (%s)\n", helpers[h], strerror(errno));
      fflush(stdout);
      _exit(127);
    }
    int st = 0;
    if (pid > 0) waitpid(pid, &st, 0);
    free(args);
  }
  return 0;
}
