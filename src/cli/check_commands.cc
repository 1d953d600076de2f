// `airlock check --full`: what each command needs beyond the kernel (helper binaries, programs and
// libraries from Debian, device permissions), each with how to fix it.
#include "cli/check_commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "core/helper_path.h"

namespace airlock::cli {

namespace {

// The first directory of $PATH (or the usual system ones) holding an executable `name`, or "".
std::string InPath(const std::string& name) {
  const char* env = std::getenv("PATH");
  std::string_view path = env != nullptr && *env != '\0' ? env : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  std::string dirs = std::string(path) + ":/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

bool AnyExists(std::initializer_list<const char*> paths) {
  for (const char* p : paths) {
    if (::access(p, F_OK) == 0) return true;
  }
  return false;
}

CommandCheck Helper(const char* command, const char* binary, const char* fix) {
  const std::string path = FindHelper(binary);
  return {command, binary, !path.empty(), path.empty() ? "not found (looked beside airlock and in the libexec directory)" : path,
          path.empty() ? fix : ""};
}

CommandCheck Program(const char* command, const char* what, const char* name, const char* fix) {
  const std::string path = InPath(name);
  return {command, what, !path.empty(), path.empty() ? fmt::format("{} not found on PATH", name) : path, path.empty() ? fix : ""};
}

// /dev/net/tun as the user-mode network helper needs it: present, and read-write for this user.
CommandCheck Tun() {
  struct stat st {};
  if (::stat("/dev/net/tun", &st) != 0) {
    return {"run --net user", "/dev/net/tun", false, "missing", "modprobe tun (the device is made by the kernel module)"};
  }
  const bool usable = ::access("/dev/net/tun", R_OK | W_OK) == 0 && (::geteuid() == 0 || (st.st_mode & 0666) == 0666);
  return {"run --net user", "/dev/net/tun", usable, fmt::format("mode {:04o}", st.st_mode & 07777),
          usable ? "" : "chmod 0666 /dev/net/tun (what Debian's udev rules do; the helper runs as the sandbox's user)"};
}

CommandCheck Fuse() {
  const bool dev = ::access("/dev/fuse", R_OK | W_OK) == 0;
  const std::string bin = InPath("fuse-overlayfs");
  const bool ok = dev && !bin.empty();
  return {"box create --overlay fuse", "fuse-overlayfs and /dev/fuse", ok,
          ok ? bin : (bin.empty() ? "fuse-overlayfs not found" : "/dev/fuse not usable by this user"),
          ok ? "" : "apt-get install fuse-overlayfs fuse3; chmod 0666 /dev/fuse"};
}

}  // namespace

std::vector<CommandCheck> CheckCommands() {
  std::vector<CommandCheck> c;
  c.push_back(Program("run --net user", "user-mode network helper", "pasta", "apt-get install passt (or slirp4netns)"));
  if (!c.back().ok) c.back() = Program("run --net user", "user-mode network helper", "slirp4netns", "apt-get install passt (or slirp4netns)");
  c.push_back(Tun());
  const bool nft = AnyExists({"/usr/lib/x86_64-linux-gnu/libnftables.so.1", "/usr/lib/aarch64-linux-gnu/libnftables.so.1",
                              "/usr/lib64/libnftables.so.1", "/usr/lib/libnftables.so.1"});
  c.push_back({"run --net-allow", "libnftables.so.1", nft, nft ? "present" : "not found", nft ? "" : "apt-get install libnftables1"});
  c.push_back(Helper("scan", "airlock-scan", "install airlock's helpers (cmake --install) or run airlock from its build tree"));
  c.push_back(Helper("analyze", "airlock-analyze", "install airlock's helpers (cmake --install)"));
  c.push_back(Helper("analyze, box review", "airlock-rules", "install airlock's helpers (cmake --install)"));
  c.push_back(Program("analyze (HTML, SVG)", "Chromium", "chromium", "apt-get install chromium (pages and SVG are opened in it, inside the sandbox)"));
  c.push_back(Helper("audit", "airlock-audit", "install airlock's helpers (cmake --install)"));
  c.push_back(Helper("milter, quarantine", "airlock-milter", "install airlock's helpers (cmake --install)"));
  c.push_back(Program("milter", "Postfix", "postconf", "apt-get install postfix; then smtpd_milters (docs/MAIL.md)"));
  c.push_back(Helper("box export/import/snapshot", "airlock-boxtar", "install airlock's helpers (cmake --install)"));
  c.push_back(Fuse());
  c.push_back(Helper("watch, verdicts", "airlock-watch", "install airlock's helpers (cmake --install)"));
  c.push_back(Helper("serve", "airlock-serve", "install airlock's helpers (cmake --install)"));
  c.push_back(Helper("worker", "airlock-worker", "install airlock's helpers (cmake --install)"));
  c.push_back(Program("serve --local", "nats-server", "nats-server", "apt-get install nats-server"));
  return c;
}

}  // namespace airlock::cli
