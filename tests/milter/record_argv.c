/* A stand-in for sendmail, postsuper and postqueue in the quarantine tests: appends its argv and stdin
 * to $RECORD_DIR/<basename of argv[0]>.log. As "postqueue" it prints $RECORD_POSTQUEUE_OUTPUT. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  const char* dir = getenv("RECORD_DIR");
  if (dir == NULL) return 99;
  const char* base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.log", dir, base);
  FILE* f = fopen(path, "ab");
  if (f == NULL) return 98;
  fprintf(f, "argv:");
  for (int i = 1; i < argc; ++i) fprintf(f, " %s", argv[i]);
  fprintf(f, "\n");
  if (strcmp(base, "postqueue") == 0) {
    const char* out = getenv("RECORD_POSTQUEUE_OUTPUT");
    if (out) fputs(out, stdout);
  } else {
    fprintf(f, "stdin:\n");
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, f);
  }
  fclose(f);
  return 0;
}
