// A real KeePassXC for the `airlock browser --keepassxc` tests (Firefox's and Chromium's), and the
// look into a sandbox's network namespace that shows its proxy reached it.
#pragma once

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "test_env.h"

namespace airlock::test {

// KeePassXC as a user runs it (offscreen: no display needed), browser integration on, its own
// runtime directory: its browser socket at RUNTIME/app/org.keepassxc.KeePassXC/. Killed at the end.
class KeePassXc {
 public:
  explicit KeePassXc(const std::string& dir) {
    char run[] = "/tmp/kx-XXXXXX";  // short: the socket's path must fit a sockaddr_un
    runtime_ = ::mkdtemp(run) != nullptr ? run : dir + "/run";
    std::filesystem::create_directories(dir);
    WriteFile(dir + "/keepassxc.ini", "[General]\nConfigVersion=2\nSingleInstance=false\n[Browser]\nEnabled=true\n");
    pid_ = SpawnLogged({"/usr/bin/env", "HOME=" + dir, "XDG_RUNTIME_DIR=" + runtime_, "QT_QPA_PLATFORM=offscreen", "/usr/bin/keepassxc",
                        "--config", dir + "/keepassxc.ini"}, dir + "/keepassxc.log");
    for (int i = 0; i < 300 && !Ready(); ++i) ::usleep(20000);
  }
  ~KeePassXc() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(runtime_, ec);
  }
  bool Ready() const {
    struct stat st{};
    return ::stat((runtime_ + "/app/org.keepassxc.KeePassXC/org.keepassxc.KeePassXC.BrowserServer").c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
  }
  const std::string& runtime() const { return runtime_; }
  // Whether process `in` (inside a sandbox) is connected to KeePassXC's socket: its network
  // namespace's unix table has a connected socket named by the path KeePassXC bound (a unix
  // connection's accepting end is made in the connecting side's namespace, with the listener's
  // name; inside, the socket is reached by another path, so only KeePassXC's listener gives this
  // name). KeePassXC's own /proc is closed (it makes itself non-dumpable).
  bool ConnectedFrom(pid_t in) const {
    std::istringstream rows(ReadFileOrEmpty("/proc/" + std::to_string(in) + "/net/unix"));
    for (std::string line; std::getline(rows, line);) {
      std::istringstream f(line);
      std::vector<std::string> cols{std::istream_iterator<std::string>(f), {}};
      if (cols.size() > 7 && cols[5] == "03" && cols[7].starts_with(runtime_ + "/app/org.keepassxc.KeePassXC/")) return true;
    }
    return false;
  }

 private:
  std::string runtime_;
  pid_t pid_ = -1;
};

inline constexpr const char* kKeePassXcBrowserPaths[] = {"/usr/bin/keepassxc", "/usr/bin/keepassxc-proxy",
                                                          "/usr/share/webext/keepassxc-browser/manifest.json"};

}  // namespace airlock::test
