#include "analyze/browse_launch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace airlock::analyze {

const char* const kChromiumOwnHosts =
    "MAP update.googleapis.com ~NOTFOUND, MAP accounts.google.com ~NOTFOUND, MAP clients2.google.com ~NOTFOUND, "
    "MAP clientservices.googleapis.com ~NOTFOUND, MAP optimizationguide-pa.googleapis.com ~NOTFOUND, "
    "MAP content-autofill.googleapis.com ~NOTFOUND, MAP safebrowsingohttpgateway.googleapis.com ~NOTFOUND, "
    "MAP *.gvt1.com ~NOTFOUND";

std::vector<std::string> ChromiumArgv(const ChromiumOptions& opt) {
  std::vector<std::string> argv = {opt.binary,
                                   "--headless",
                                   "--remote-debugging-pipe",
                                   "--user-data-dir=" + opt.profile_dir + "/profile",
                                   "--no-first-run",
                                   "--no-default-browser-check",
                                   "--disable-gpu",
                                   "--disable-dev-shm-usage",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-default-apps",
                                   "--disable-extensions",
                                   "--disable-sync",
                                   "--disable-breakpad",
                                   "--disable-crash-reporter",
                                   "--disable-domain-reliability",
                                   "--disable-client-side-phishing-detection",
                                   "--safebrowsing-disable-auto-update",
                                   "--no-pings",
                                   // Chromium's own traffic (time queries, model and component downloads)
                                   // would show up in the sinkhole as if the page had made it.
                                   "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,"
                                   "OptimizationGuideModelDownloading,OptimizationHintsFetching,Translate,MediaRouter,"
                                   "CertificateTransparencyComponentUpdater,AutofillServerCommunication,DnsOverHttps",
                                   // What the flags above do not stop (component and account checks):
                                   // such names never reach the resolver, so never the sinkhole.
                                   "--host-resolver-rules=" + std::string(kChromiumOwnHosts),
                                   "--metrics-recording-only",
                                   "--password-store=basic",
                                   "--mute-audio"};
  if (!opt.own_sandbox) argv.push_back("--no-sandbox");
  argv.push_back("about:blank");
  return argv;
}

Result<Chromium> LaunchChromium(const ChromiumOptions& opt) {
  for (const char* sub : {"", "/profile", "/home", "/cache", "/config"}) {
    std::string dir = opt.profile_dir + sub;
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("mkdir " + dir);
  }
  int cmd[2], evt[2];  // cmd: we -> Chromium, evt: Chromium -> we
  if (::pipe2(cmd, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd cmd_r(cmd[0]), cmd_w(cmd[1]);
  if (::pipe2(evt, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd evt_r(evt[0]), evt_w(evt[1]);

  // Everything the child needs is built before fork.
  std::vector<std::string> args = ChromiumArgv(opt);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = {"HOME=" + opt.profile_dir + "/home", "XDG_CONFIG_HOME=" + opt.profile_dir + "/config",
                                    "XDG_CACHE_HOME=" + opt.profile_dir + "/cache", "TMPDIR=" + opt.profile_dir,
                                    "PATH=/usr/bin:/bin", "LANG=C.UTF-8"};
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    sigset_t none;  // the driver blocks SIGINT/SIGTERM/SIGHUP (process/interrupt.h); Chromium must not
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Move the pipe ends out of the way of 3 and 4 first, then into place (dup2 clears O_CLOEXEC).
    int in = ::fcntl(cmd_r.get(), F_DUPFD_CLOEXEC, 10);
    int out = ::fcntl(evt_w.get(), F_DUPFD_CLOEXEC, 10);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || out < 0 || null < 0 || ::dup2(null, 0) < 0 || ::dup2(2, 1) < 0 || ::dup2(in, 3) < 0 ||
        ::dup2(out, 4) < 0) {
      ::_exit(126);
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  Chromium c;
  c.pid = pid;
  c.to_browser = std::move(cmd_w);
  c.from_browser = std::move(evt_r);
  return c;
}

}  // namespace airlock::analyze
