/* setid_probe DIR [OUTSIDE_FILE]: inside a sandbox, tries every way to leave a setuid/setgid file, a
 * file capability or a device node in DIR (an idmapped bind, docs/SECURITY.md), and a hard link to
 * OUTSIDE_FILE (a file of another mount). One line per attempt: "NAME ok" or "NAME ERRNO_NAME".
 * The test looks at DIR from the host afterwards: what the attempts left there is the verdict. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/openat2.h>

static char dir[2048];

static const char* path(const char* name) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", dir, name);
  return buf;
}

static void report(const char* name, int rc) {
  if (rc >= 0) printf("%s ok\n", name);
  else printf("%s %s\n", name, strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
}

static int plain(const char* name) {
  int fd = open(path(name), O_CREAT | O_WRONLY | O_CLOEXEC, 0755);
  if (fd >= 0) close(fd);
  return fd;
}

static int closed(int fd) {
  if (fd >= 0) close(fd);
  return fd;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  snprintf(dir, sizeof dir, "%s", argv[1]);
  report("plain_create", plain("plain"));
  plain("chmod_suid");
  report("chmod_suid", chmod(path("chmod_suid"), 04755));
  plain("chmod_sgid");
  report("chmod_sgid", chmod(path("chmod_sgid"), 02755));
  int fd = plain("fchmod_suid") >= 0 ? open(path("fchmod_suid"), O_RDONLY | O_CLOEXEC) : -1;
  report("fchmod_suid", fd < 0 ? -1 : fchmod(fd, 04755));
  if (fd >= 0) close(fd);
  plain("fchmodat_sgid");
  report("fchmodat_sgid", fchmodat(AT_FDCWD, path("fchmodat_sgid"), 02755, 0));
  plain("fchmodat2_suid");
  report("fchmodat2_suid", (int)syscall(452 /* fchmodat2 */, AT_FDCWD, path("fchmodat2_suid"), 04755, 0));
  report("open_suid", closed((int)syscall(SYS_open, path("open_suid"), O_CREAT | O_WRONLY | O_CLOEXEC, 04755)));
  report("openat_sgid", closed(openat(AT_FDCWD, path("openat_sgid"), O_CREAT | O_WRONLY | O_CLOEXEC, 02755)));
  report("creat_suid", closed(creat(path("creat_suid"), 04755)));
  int tmp = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 04755);
  if (tmp >= 0) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", tmp);
    report("tmpfile_suid", linkat(AT_FDCWD, proc, AT_FDCWD, path("tmpfile_suid"), AT_SYMLINK_FOLLOW));
    close(tmp);
  } else {
    report("tmpfile_suid", -1);
  }
  struct open_how how = {.flags = O_CREAT | O_WRONLY | O_CLOEXEC, .mode = 04755};
  report("openat2_suid", closed((int)syscall(SYS_openat2, AT_FDCWD, path("openat2_suid"), &how, sizeof how)));
  report("mknod_suid", mknod(path("mknod_suid"), S_IFREG | 04755, 0));
  report("mknodat_sgid", mknodat(AT_FDCWD, path("mknodat_sgid"), S_IFREG | 02755, 0));
  report("mknod_chr", mknod(path("mknod_chr"), S_IFCHR | 0666, makedev(1, 3)));
  report("mkdir_setid", mkdir(path("mkdir_setid"), 06777));
  struct vfs_cap_data cap;
  memset(&cap, 0, sizeof cap);
  cap.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
  cap.data[0].permitted = 1u << CAP_NET_RAW;
  plain("xattr_cap");
  report("xattr_cap", setxattr(path("xattr_cap"), "security.capability", &cap, XATTR_CAPS_SZ_2, 0));
  report("xattr_user", setxattr(path("plain"), "user.airlock", "x", 1, 0));
  report("setxattrat", (int)syscall(463 /* setxattrat */, AT_FDCWD, path("plain"), 0, "user.airlock", NULL, 0));
  if (argc > 2) report("link_outside", link(argv[2], path("link_outside")));
  return 0;
}
