/* escape_hostinfo: what a sandbox can read about its host (tests/escape/escape_hostinfo_test.cc).
 * Usage: escape_hostinfo PROBE|all [key=value...]
 *   bootid=ID      the host's /proc/sys/kernel/random/boot_id (boot_id: ESCAPED when it reads the same)
 *   marker=TEXT    a value only the caller's command line holds (init_cmdline: ESCAPED when the
 *                  command line it reads shows it, or any host path)
 *   pid=N          whose command line init_cmdline reads (default 1: the sandbox's init)
 * Probes over files (proc_cmdline, kallsyms, interrupts, ...): ESCAPED when the file has content;
 * over directories (proc_acpi, proc_bus, sys_firmware, ...): ESCAPED when it lists an entry.
 * path: ESCAPED when an absolute PATH entry is not a directory here (a host path passed in). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape_probe.h"

/* Reads up to cap-1 bytes of path into buf; returns the count or -errno. */
static long read_head(const char* path, char* buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return -errno;
  long total = 0;
  for (;;) {
    ssize_t n = read(fd, buf + total, cap - 1 - (size_t)total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return total > 0 ? total : -e;
    }
    if (n == 0 || (size_t)(total + n) >= cap - 1) {
      total += n;
      break;
    }
    total += n;
  }
  close(fd);
  buf[total] = '\0';
  return total;
}

static void file_fact(const char* probe, const char* path) {
  char buf[4096];
  long n = read_head(path, buf, sizeof buf);
  if (n < 0) {
    blocked_errno(probe, (int)-n);
    return;
  }
  char what[160];
  snprintf(what, sizeof what, "read %ld bytes of %s", n, path);
  if (n > 0) escaped(probe, what);
  else blocked(probe, "empty");
}

static void dir_fact(const char* probe, const char* path) {
  DIR* d = opendir(path);
  if (!d) {
    blocked_errno(probe, errno);
    return;
  }
  struct dirent* e;
  char first[300] = "";
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(first, sizeof first, "%s lists %s", path, e->d_name);
    break;
  }
  closedir(d);
  if (first[0]) escaped(probe, first);
  else blocked(probe, "empty directory");
}

#define FILE_FACT(name, path) \
  static void p_##name(void) { file_fact(#name, path); }
#define DIR_FACT(name, path) \
  static void p_##name(void) { dir_fact(#name, path); }

FILE_FACT(proc_cmdline, "/proc/cmdline")
FILE_FACT(kallsyms, "/proc/kallsyms")
FILE_FACT(timer_list, "/proc/timer_list")
FILE_FACT(sched_debug, "/proc/sched_debug")
FILE_FACT(proc_keys, "/proc/keys")
FILE_FACT(key_users, "/proc/key-users")
FILE_FACT(interrupts, "/proc/interrupts")
FILE_FACT(softirqs, "/proc/softirqs")
FILE_FACT(config_gz, "/proc/config.gz")
FILE_FACT(modules, "/proc/modules")
FILE_FACT(iomem, "/proc/iomem")
FILE_FACT(ioports, "/proc/ioports")
FILE_FACT(partitions, "/proc/partitions")
FILE_FACT(diskstats, "/proc/diskstats")
FILE_FACT(swaps, "/proc/swaps")
FILE_FACT(devices, "/proc/devices")
FILE_FACT(misc, "/proc/misc")
FILE_FACT(consoles, "/proc/consoles")
FILE_FACT(buddyinfo, "/proc/buddyinfo")
FILE_FACT(zoneinfo, "/proc/zoneinfo")
FILE_FACT(dma, "/proc/dma")
DIR_FACT(proc_acpi, "/proc/acpi")
DIR_FACT(proc_bus, "/proc/bus")
DIR_FACT(proc_driver, "/proc/driver")
DIR_FACT(proc_scsi, "/proc/scsi")
DIR_FACT(proc_asound, "/proc/asound")
DIR_FACT(sys_firmware, "/sys/firmware")
DIR_FACT(sys_dmi, "/sys/devices/virtual/dmi")
DIR_FACT(sys_powercap, "/sys/devices/virtual/powercap")

static void p_boot_id(void) {
  char buf[128];
  long n = read_head("/proc/sys/kernel/random/boot_id", buf, sizeof buf);
  if (n < 0) {
    blocked_errno("boot_id", (int)-n);
    return;
  }
  const char* host = param("bootid", "");
  if (host[0] && strncmp(buf, host, strlen(host)) == 0) escaped("boot_id", "the host's boot id");
  else blocked("boot_id", n > 0 ? "a boot id of its own" : "empty");
}

static void p_init_cmdline(void) {
  char path[64], buf[8192];
  snprintf(path, sizeof path, "/proc/%s/cmdline", param("pid", "1"));
  long n = read_head(path, buf, sizeof buf);
  if (n < 0) {
    blocked_errno("init_cmdline", (int)-n);
    return;
  }
  const char* marker = param("marker", "");
  int has_marker = 0, has_path = 0;
  for (long i = 0; i < n; i++) {
    if (buf[i] == '/') has_path = 1;
    if (marker[0] && strncmp(buf + i, marker, strlen(marker)) == 0) has_marker = 1;
  }
  for (long i = 0; i < n; i++)
    if (buf[i] == '\0') buf[i] = ' ';
  char what[160];
  snprintf(what, sizeof what, "%s%s: %.80s", has_marker ? "a --setenv value" : "", has_path ? " a path" : "", buf);
  if (has_marker || has_path) escaped("init_cmdline", what);
  else blocked("init_cmdline", what);
}

static void p_path(void) {
  const char* path = getenv("PATH");
  if (!path) {
    blocked("path", "no PATH");
    return;
  }
  char copy[4096];
  snprintf(copy, sizeof copy, "%s", path);
  for (char* save = NULL, *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    struct stat st;
    if (dir[0] == '/' && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
      char what[160];
      snprintf(what, sizeof what, "PATH names %.100s, which does not exist here", dir);
      escaped("path", what);
      return;
    }
  }
  blocked("path", "every PATH entry exists here");
}

#define P(name) {#name, p_##name}
static const struct probe probes[] = {
    P(proc_cmdline), P(kallsyms), P(timer_list), P(sched_debug), P(proc_keys), P(key_users), P(interrupts),
    P(softirqs), P(config_gz), P(modules), P(iomem), P(ioports), P(partitions), P(diskstats), P(swaps),
    P(devices), P(misc), P(consoles), P(buddyinfo), P(zoneinfo), P(dma), P(proc_acpi), P(proc_bus),
    P(proc_driver), P(proc_scsi), P(proc_asound), P(sys_firmware), P(sys_dmi), P(sys_powercap), P(boot_id),
    P(init_cmdline), P(path), {NULL, NULL}};

int main(int argc, char** argv) { return probe_main(argc, argv, "escape_hostinfo", probes); }
