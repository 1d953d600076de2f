// A harmless ELF sample for `airlock analyze` that behaves like a dropper: it installs an XDG
// autostart entry and appends a line to ~/.bashrc (persistence, T1547.013 / T1546.004), copies itself
// to a hidden file in /tmp and runs the copy (dropped-and-run), then exits.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void Append(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write(fd, text, strlen(text));
  close(fd);
}

// Copies /proc/self/exe to `dst` (mode 0755).
static int CopySelf(const char* dst) {
  int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (in < 0 || out < 0) return -1;
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0) write(out, buf, (size_t)n);
  close(in);
  close(out);
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "stage2") == 0) return 0;
  const char* home = getenv("HOME");
  if (!home) home = "/tmp";
  char path[4096];
  snprintf(path, sizeof path, "%s/.config", home);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/.config/autostart", home);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/.config/autostart/updater.desktop", home);
  Append(path, "[Desktop Entry]\nType=Application\nExec=/tmp/.updater\n");
  snprintf(path, sizeof path, "%s/.bashrc", home);
  Append(path, "/tmp/.updater &\n");
  if (CopySelf("/tmp/.updater") == 0) {
    pid_t pid = fork();
    if (pid == 0) {
      execl("/tmp/.updater", ".updater", "stage2", (char*)NULL);
      _exit(127);
    }
    if (pid > 0) waitpid(pid, NULL, 0);
  }
  return 0;
}
