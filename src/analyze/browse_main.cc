// airlock-browse: the browser runner's driver, run INSIDE the analysis sandbox as the payload.
// Starts headless Chromium with a DevTools pipe, lets downloads happen into a directory the dropped-
// file collector sees, opens the sample, waits until the page has settled (loaded, no download in
// progress, nothing new for the settle time) or the time budget is spent, closes the browser and
// prints a JSON summary on stdout (docs/BROWSER.md). It never clicks or types: a download needs the
// page's own script. SIGINT, SIGTERM and SIGHUP (forwarded by `airlock run`) end the page at once:
// Chromium is closed (killed after 1 s) and the summary is still printed, with "interrupted".
//
//   airlock-browse [--chromium PATH] [--profile DIR] [--downloads DIR] [--settle-ms N]
//                  [--timeout-ms N] [--virtual-ms N] [--chromium-sandbox] FILE|URL
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "analyze/browse_cdp.h"
#include "analyze/browse_launch.h"
#include "analyze/browse_watch.h"
#include "core/json_text.h"
#include "process/interrupt.h"

using nlohmann::json;
using namespace airlock;
using namespace airlock::analyze;

namespace {

int64_t NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

struct Options {
  ChromiumOptions chromium;
  std::string downloads = "/tmp/downloads";
  int64_t settle_ms = 2500, timeout_ms = 30000;
  int64_t virtual_ms = 120000;  // page time (timers) granted on virtual time; 0: real time only
  std::string target;
};

bool ParseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--chromium-sandbox") {
      o.chromium.own_sandbox = true;
    } else if (a == "--chromium" || a == "--profile" || a == "--downloads" || a == "--settle-ms" || a == "--timeout-ms" ||
               a == "--virtual-ms") {
      if (!(v = value())) return false;
      if (a == "--chromium") o.chromium.binary = v;
      if (a == "--profile") o.chromium.profile_dir = v;
      if (a == "--downloads") o.downloads = v;
      if (a == "--settle-ms") o.settle_ms = std::strtoll(v, nullptr, 10);
      if (a == "--timeout-ms") o.timeout_ms = std::strtoll(v, nullptr, 10);
      if (a == "--virtual-ms") o.virtual_ms = std::strtoll(v, nullptr, 10);
    } else if (!a.empty() && a[0] != '-' && o.target.empty()) {
      o.target = a;
    } else {
      return false;
    }
  }
  return !o.target.empty() && o.settle_ms >= 0 && o.timeout_ms > 0 && o.virtual_ms >= 0;
}

std::string TargetUrl(const std::string& target) {
  if (target.find("://") != std::string::npos || target.rfind("about:", 0) == 0) return target;
  std::string url = "file://";
  for (unsigned char c : target) {
    if (std::isalnum(c) || c == '/' || c == '.' || c == '_' || c == '-') {
      url += static_cast<char>(c);
    } else {
      char hex[4];
      snprintf(hex, sizeof hex, "%%%02X", c);
      url += hex;
    }
  }
  return url;
}

class Driver {
 public:
  Driver(Options opt, Chromium c) : opt_(std::move(opt)), c_(std::move(c)) {
    WatchLimits limits;
    limits.settle_ms = opt_.settle_ms;
    watch_ = PageWatch(limits);
  }

  // Runs the page until settled, the budget is spent, the browser goes away or `interrupt_fd` is
  // readable; returns how it ended.
  std::string Run(int64_t deadline_ms, int interrupt_fd) {
    Send(kDownloads, "Browser.setDownloadBehavior",
         {{"behavior", "allowAndName"}, {"downloadPath", opt_.downloads}, {"eventsEnabled", true}});
    Send(kDiscover, "Target.setDiscoverTargets", {{"discover", true}});
    Send(kCreate, "Target.createTarget", {{"url", "about:blank"}});
    while (true) {
      int64_t now = NowMs();
      if (watch_.Settled(now)) return "settled";
      if (now >= deadline_ms) return "timeout";
      pollfd p[2] = {{c_.from_browser.get(), POLLIN, 0}, {interrupt_fd, POLLIN, 0}};
      int n = ::poll(p, 2, static_cast<int>(std::min<int64_t>(100, deadline_ms - now)));
      if (n < 0 && errno != EINTR) return "poll-error";
      if (n <= 0) continue;
      if (p[1].revents & POLLIN) return "interrupted";
      if (p[0].revents && !ReadAvailable()) return "browser-exited";
    }
  }

  // Browser.close, then wait (bounded) for Chromium to exit; SIGKILL if it does not.
  int Close(int64_t grace_ms) {
    Send(kClose, "Browser.close");
    int64_t until = NowMs() + grace_ms;
    int status = 0;
    while (NowMs() < until) {
      pid_t r = ::waitpid(c_.pid, &status, WNOHANG);
      if (r == c_.pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      // Keep draining events (late download progress) until EOF, then just wait for the exit.
      pollfd p = {c_.from_browser.valid() ? c_.from_browser.get() : -1, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0 && !ReadAvailable()) c_.from_browser.reset();
    }
    ::kill(c_.pid, SIGKILL);
    ::waitpid(c_.pid, &status, 0);
    errors_.push_back("Chromium did not exit after Browser.close: killed");
    return 128 + SIGKILL;
  }

  PageWatch& watch() { return watch_; }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  enum : int64_t { kDownloads = 1, kDiscover, kCreate, kAttach, kPage, kNetwork, kRuntime, kVirtualTime, kNavigate, kClose };

  void Send(int64_t id, const char* method, const json& params = json::object(), const std::string& session = {}) {
    std::string msg = cdp::EncodeCommand(id, method, params, session);
    size_t off = 0;
    while (off < msg.size()) {
      ssize_t n = ::write(c_.to_browser.get(), msg.data() + off, msg.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        errors_.push_back(std::string("write ") + method + ": " + std::strerror(errno));
        return;
      }
      off += static_cast<size_t>(n);
    }
  }

  // Reads what is available and handles every complete message. False on EOF or a framing error.
  bool ReadAvailable() {
    char buf[65536];
    ssize_t n = ::read(c_.from_browser.get(), buf, sizeof buf);
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    if (n == 0) return false;
    if (auto s = framer_.Feed(std::string_view(buf, static_cast<size_t>(n))); !s) {
      errors_.push_back(s.error().What());
      return false;
    }
    while (auto text = framer_.Next()) {
      auto m = cdp::ParseMessage(*text);
      if (!m) {
        errors_.push_back(m.error().What());
        continue;
      }
      if (trace_) std::cerr << "airlock-browse: cdp " << text->substr(0, 300) << "\n";
      if (m->is_reply()) {
        OnReply(*m);
      } else {
        watch_.OnEvent(*m, NowMs());
        if (watch_.loaded() && !virtual_time_ && opt_.virtual_ms > 0) {
          // Once loaded (earlier, virtual time would race past its budget while the document is still
          // read), page timers run on virtual time that advances as fast as the page can go: a payload
          // held back by setTimeout (smuggling pages wait out sandboxes) drops within the settle time.
          virtual_time_ = true;
          Send(kVirtualTime, "Emulation.setVirtualTimePolicy", {{"policy", "advance"}, {"budget", opt_.virtual_ms}}, session_);
        }
      }
    }
    return true;
  }

  void OnReply(const cdp::Message& m) {
    if (!m.error.empty()) {
      if (*m.id == kNavigate) watch_.NavigateFailed(m.error);
      if (errors_.size() < 20) errors_.push_back("CDP command " + std::to_string(*m.id) + ": " + m.error);
      if (*m.id != kCreate && *m.id != kAttach && *m.id != kRuntime) return;
    }
    if (*m.id == kCreate) {
      std::string target = m.result.value("targetId", "");
      if (target.empty()) return;
      Send(kAttach, "Target.attachToTarget", {{"targetId", target}, {"flatten", true}});
    } else if (*m.id == kAttach) {
      session_ = m.result.value("sessionId", "");
      if (session_.empty()) return;
      Send(kPage, "Page.enable", json::object(), session_);
      Send(kNetwork, "Network.enable", json::object(), session_);
      Send(kRuntime, "Runtime.enable", json::object(), session_);
    } else if (*m.id == kRuntime) {
      // Navigate only once the domains are enabled (replies come in order), so no event is missed.
      Send(kNavigate, "Page.navigate", {{"url", TargetUrl(opt_.target)}}, session_);
      watch_.Navigating(NowMs());
    } else if (*m.id == kNavigate) {
      if (std::string e = m.result.value("errorText", ""); !e.empty()) watch_.NavigateFailed(e);
    }
  }

  Options opt_;
  Chromium c_;
  PageWatch watch_;
  cdp::Framer framer_;
  std::string session_;
  std::vector<std::string> errors_;
  bool virtual_time_ = false;
  bool trace_ = std::getenv("AIRLOCK_BROWSE_TRACE") != nullptr;  // every CDP message on stderr (debugging)
};

// Chromium names an allowAndName download by its GUID; give it a readable, safe, unique name.
void NameDownloads(const std::string& dir, std::vector<BrowseDownload>& downloads) {
  for (auto& d : downloads) {
    std::string src = dir + "/" + d.guid;
    if (d.guid.empty() || d.guid.find('/') != std::string::npos) continue;
    struct stat st{};
    if (::lstat(src.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    d.path = src;
    if (d.state != "completed") continue;
    std::string dst = dir + "/" + SafeDownloadName(d.suggested_name, d.guid);
    if (::renameat2(AT_FDCWD, src.c_str(), AT_FDCWD, dst.c_str(), RENAME_NOREPLACE) != 0) {
      dst = dir + "/" + d.guid.substr(0, 8) + "-" + SafeDownloadName(d.suggested_name, d.guid);
      if (::renameat2(AT_FDCWD, src.c_str(), AT_FDCWD, dst.c_str(), RENAME_NOREPLACE) != 0) continue;
    }
    d.path = dst;
  }
}

}  // namespace

int main(int argc, char** argv) {
  process::InterruptWatch interrupt;  // first: before Chromium or any thread
  Options opt;
  if (!ParseArgs(argc, argv, opt)) {
    std::cerr << "usage: airlock-browse [--chromium PATH] [--profile DIR] [--downloads DIR] [--settle-ms N] "
                 "[--timeout-ms N] [--virtual-ms N] [--chromium-sandbox] FILE|URL\n";
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  const int64_t start = NowMs();
  json summary = {{"url", TargetUrl(opt.target)}, {"downloads_dir", opt.downloads}};
  if (::mkdir(opt.downloads.c_str(), 0700) != 0 && errno != EEXIST) {
    summary["error"] = "mkdir " + opt.downloads + ": " + std::strerror(errno);
    std::cout << DumpJson(summary) << "\n";
    return 1;
  }
  auto chromium = LaunchChromium(opt.chromium);
  if (!chromium) {
    summary["error"] = "cannot start Chromium: " + chromium.error().What();
    std::cout << DumpJson(summary) << "\n";
    return 1;
  }
  Driver driver(opt, std::move(*chromium));
  std::string ended = driver.Run(start + opt.timeout_ms, interrupt.fd());
  int64_t run_ms = NowMs() - start;
  int exit_code = driver.Close(ended == "interrupted" ? 1000 : 5000);
  NameDownloads(opt.downloads, driver.watch().downloads());

  json page = driver.watch().Summary();
  summary.update(page);
  summary["ended"] = ended;
  summary["duration_ms"] = run_ms;
  summary["chromium_exit"] = exit_code;
  summary["errors"] = driver.errors();
  const int signo = interrupt.Signal();
  summary["interrupted"] = signo != 0;
  std::cout << DumpJson(summary) << "\n";
  if (signo != 0) return 128 + signo;
  return ended == "settled" || ended == "timeout" ? 0 : 1;
}
