#include "browser/browser_session.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "analyze/browse_cdp.h"
#include "browser/dbus_proxy.h"
#include "browser/firefox_session.h"
#include "browser/home_box.h"
#include "browser/keepassxc.h"
#include "browser/quarantine.h"
#include "browser/sandbox_check.h"
#include "browser/session_driver.h"
#include "core/file_read.h"
#include "core/json_text.h"
#include "core/report_envelope.h"
#include "core/private_dir.h"
#include "core/unique_fd.h"
#include "policy/profile_loader.h"
#include "process/spawn.h"
#include "runapi/run_request.h"

namespace airlock::browser {
namespace cdp = analyze::cdp;
using nlohmann::json;
namespace {


// "x.pdf" from the GUID-named file Chromium wrote: only [0-9a-f-] GUIDs are accepted.
bool ValidGuid(const std::string& guid) {
  return !guid.empty() && guid.size() <= 64 && guid.find_first_not_of("0123456789abcdefABCDEF-") == std::string::npos;
}

struct Download {
  std::string guid, url, suggested, referrer, state;
};

}  // namespace

std::vector<std::string> CurrentEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

std::string EnvOf(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') return e.substr(key.size() + 1);
  }
  return "";
}

bool IsSocket(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

Result<DisplayChoice> ChooseDisplay(const std::vector<std::string>& env, bool headless) {
  DisplayChoice d;
  if (headless) {
    d.platform = "headless";
    return d;
  }
  std::string wayland = EnvOf(env, "WAYLAND_DISPLAY"), runtime = EnvOf(env, "XDG_RUNTIME_DIR");
  if (!wayland.empty()) {
    std::string socket = wayland[0] == '/' ? wayland : runtime.empty() ? "" : runtime + "/" + wayland;
    if (!socket.empty() && IsSocket(socket)) {
      d.platform = "wayland";
      d.ro_binds.push_back({socket, std::string(kInsideRuntime) + "/wayland-0"});
      // XDG_SESSION_TYPE: what WebRTC reads to capture through the portal (PipeWire) instead of X11.
      d.env = {"WAYLAND_DISPLAY=wayland-0", std::string("XDG_RUNTIME_DIR=") + kInsideRuntime, "XDG_SESSION_TYPE=wayland"};
      return d;
    }
  }
  std::string display = EnvOf(env, "DISPLAY");
  if (display.empty()) {
    return MakeError("no display: neither a Wayland socket ($WAYLAND_DISPLAY in $XDG_RUNTIME_DIR) nor an X11 display ($DISPLAY); "
                     "start it from a desktop session (or --headless with --check)");
  }
  std::string number = display.starts_with("unix:") ? display.substr(5) : display;
  if (number.empty() || number[0] != ':') {
    return MakeError("the X11 display '" + Utf8Text(display) + "' is not local (host:N goes over TCP): airlock browser needs a local display socket");
  }
  number = number.substr(1, number.find('.') == std::string::npos ? std::string::npos : number.find('.') - 1);
  if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) return MakeError("cannot read the X11 display '" + Utf8Text(display) + "'");
  const std::string socket = "/tmp/.X11-unix/X" + number;
  if (!IsSocket(socket)) return MakeError("the X11 display " + display + " has no socket " + socket + " (is the X server running?)");
  d.platform = "x11";
  d.ro_binds.push_back({socket, socket});
  d.env = {"DISPLAY=:" + number};
  std::string xauth = EnvOf(env, "XAUTHORITY");
  if (!xauth.empty() && xauth[0] == '/' && std::filesystem::is_regular_file(xauth)) {
    d.ro_binds.push_back({xauth, "/tmp/.Xauthority"});
    d.env.push_back("XAUTHORITY=/tmp/.Xauthority");
  }
  d.weakening = "the display is the host's X11 server " + display +
                ": X11 lets every client of that server read the others' input and windows (use a Wayland session, or a nested X server)";
  return d;
}

Result<DesktopOptIns> StartOptIns(const std::vector<std::string>& env, const OptInFlags& flags, const std::string& who,
                                  std::vector<std::string>& weakenings) {
  DesktopOptIns out;
  if (flags.audio) {
    auto chosen = ChooseAudio(env);
    if (!chosen) return std::unexpected(chosen.error());
    out.audio = std::move(*chosen);
    weakenings.push_back(out.audio.weakening);
  }
  if (flags.gpu) {
    auto chosen = ChooseGpu();
    if (!chosen) return std::unexpected(chosen.error());
    out.gpu = std::move(*chosen);
    weakenings.push_back(out.gpu.weakening);
  }
  if (flags.screen_share) {
    auto chosen = ChooseScreenShare(env);
    if (!chosen) return std::unexpected(chosen.error());
    out.screen = std::move(*chosen);
    weakenings.push_back(out.screen.weakening);
  }
  if (flags.dbus || flags.screen_share) {
    auto started = DbusProxy::Start(env);
    if (!started) return std::unexpected(started.error());
    out.bus = std::move(*started);
    weakenings.push_back("--dbus: " + who + " reaches your session bus through a filtering proxy (xdg-dbus-proxy): desktop notifications "
                         "and the desktop portal only");
  }
  return out;
}

DisplayChoice DesktopOptIns::Asked() const {
  DisplayChoice all;
  for (const DisplayChoice* c : {&audio, &gpu, &screen}) {
    for (const auto& bind : c->ro_binds) {
      const bool seen = std::any_of(all.ro_binds.begin(), all.ro_binds.end(), [&](const auto& b) { return b.second == bind.second; });
      if (!seen) all.ro_binds.push_back(bind);
    }
    for (const auto& e : c->env) {
      if (std::find(all.env.begin(), all.env.end(), e) == all.env.end()) all.env.push_back(e);
    }
    all.dev_binds.insert(all.dev_binds.end(), c->dev_binds.begin(), c->dev_binds.end());
  }
  return all;
}

void AddDesktopAccess(runapi::RunRequest& r, const DisplayChoice& display, const DisplayChoice& asked, const std::string& bus_socket) {
  for (const DisplayChoice* c : {&display, &asked}) {
    for (const auto& [host, inside] : c->ro_binds) r.RoBind(host, inside);
    for (const auto& [host, inside] : c->dev_binds) r.DevBind(host, inside);
    for (const auto& e : c->env) r.SetEnv(e);
  }
  r.SetEnv(std::string("HOME=") + kInsideHome);
  if (bus_socket.empty()) {
    r.SetEnv("DBUS_SESSION_BUS_ADDRESS=disabled:");  // D-Bus is off: no bus socket, no connection attempts
  } else {
    r.RoBind(bus_socket, kInsideBus);
    r.SetEnv(std::string("DBUS_SESSION_BUS_ADDRESS=unix:path=") + kInsideBus);
  }
}

std::string SiteBoxName(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  const std::string proto = url.substr(0, scheme);
  if (proto != "http" && proto != "https") return "";
  std::string host = url.substr(scheme + 3, url.find_first_of("/?#", scheme + 3) - (scheme + 3));
  if (const size_t at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);  // user:pass@
  if (!host.empty() && host[0] == '[') return "";  // IPv6 literal: no box name for it
  host = host.substr(0, host.find(':'));
  for (char& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (host.starts_with("www.")) host = host.substr(4);
  if (host.empty() || host.size() > 200 || host.front() == '.' || host.front() == '-' ||
      host.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos) {
    return "";
  }
  return "site-" + host;
}

namespace {

// Adds the host file or socket `host` to `c`, bound at kInsideRuntime/NAME, and `var` naming it there
// (`prefix` before the path: "unix:" for PulseAudio).
void BindInRuntime(DisplayChoice& c, const std::string& host, const std::string& name, const std::string& var, const std::string& prefix = "") {
  const std::string inside = std::string(kInsideRuntime) + "/" + name;
  c.ro_binds.push_back({host, inside});
  c.env.push_back(var + "=" + prefix + inside);
}

// PipeWire's own socket: $PIPEWIRE_REMOTE when it is an absolute path, else $XDG_RUNTIME_DIR/pipewire-0;
// "" when that is not a socket.
std::string PipeWireSocket(const std::vector<std::string>& env) {
  const std::string remote = EnvOf(env, "PIPEWIRE_REMOTE"), runtime = EnvOf(env, "XDG_RUNTIME_DIR");
  const std::string socket = remote.starts_with("/") ? remote : runtime.empty() ? "" : runtime + "/pipewire-0";
  return !socket.empty() && IsSocket(socket) ? socket : "";
}

}  // namespace

Result<DisplayChoice> ChooseAudio(const std::vector<std::string>& env) {
  const std::string server = EnvOf(env, "PULSE_SERVER"), runtime = EnvOf(env, "XDG_RUNTIME_DIR"), home = EnvOf(env, "HOME");
  std::string socket = server.starts_with("unix:") ? server.substr(5) : runtime.empty() ? "" : runtime + "/pulse/native";
  if (socket.empty() || !IsSocket(socket)) {
    return MakeError("--audio: no sound server socket ($PULSE_SERVER unix:PATH, or $XDG_RUNTIME_DIR/pulse/native of PulseAudio or "
                     "PipeWire's pipewire-pulse); start it, or leave --audio out");
  }
  DisplayChoice a;
  a.platform = "pulse";
  BindInRuntime(a, socket, "pulse/native", "PULSE_SERVER", "unix:");
  const std::string cookie = home.empty() ? "" : home + "/.config/pulse/cookie";
  if (!cookie.empty() && std::filesystem::is_regular_file(cookie)) BindInRuntime(a, cookie, "pulse/cookie", "PULSE_COOKIE");
  if (const std::string pipewire = PipeWireSocket(env); !pipewire.empty()) BindInRuntime(a, pipewire, "pipewire-0", "PIPEWIRE_REMOTE");
  a.weakening = "--audio: the program reaches your sound server (" + Utf8Text(socket) +
                "): it can record as well as play, and PulseAudio lets a client load server modules";
  return a;
}

Result<DisplayChoice> ChooseGpu(const std::string& dri_dir) {
  std::vector<std::string> nodes;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dri_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with("renderD") && it->symlink_status(ec).type() == std::filesystem::file_type::character) nodes.push_back(it->path().string());
  }
  if (nodes.empty()) {
    return MakeError("--gpu: no GPU render node in " + dri_dir + " (renderD*: no GPU, or its kernel driver is not loaded); the browser and "
                     "programs draw in software without --gpu");
  }
  std::sort(nodes.begin(), nodes.end());
  DisplayChoice g;
  g.platform = "gpu";
  std::string listed;
  for (const auto& n : nodes) {
    g.dev_binds.push_back({n, n});
    listed += (listed.empty() ? "" : ", ") + Utf8Text(n);
  }
  g.weakening = "--gpu: the program reaches the GPU driver (" + listed +
                "): a compromised program can use the driver's ioctls, the usual way out of browser sandboxes";
  return g;
}

Result<DisplayChoice> ChooseScreenShare(const std::vector<std::string>& env) {
  if (::geteuid() == 0) {
    return MakeError("--screen-share is not offered as root: root's sandboxes run as nobody outside, who cannot reach a user's PipeWire "
                     "and portal; run airlock browser or airlock app as the desktop's user");
  }
  const std::string socket = PipeWireSocket(env);
  if (socket.empty()) {
    return MakeError("--screen-share: no PipeWire socket ($PIPEWIRE_REMOTE, or $XDG_RUNTIME_DIR/pipewire-0): start PipeWire (systemctl "
                     "--user start pipewire), or leave --screen-share out (on X11 the browser can share without it)");
  }
  DisplayChoice s;
  s.platform = "pipewire";
  BindInRuntime(s, socket, "pipewire-0", "PIPEWIRE_REMOTE");
  s.weakening = "--screen-share: the program can ask the desktop portal to share a screen or window (the desktop asks you which) and "
                "reaches your PipeWire server (" + Utf8Text(socket) + "), which carries cameras and sound devices too";
  return s;
}

std::vector<std::string> ChromiumCommand(const SessionOptions& o, const std::string& platform) {
  std::vector<std::string> cmd = {o.chromium, "--remote-debugging-pipe", std::string("--user-data-dir=") + kInsideHome + "/.config/chromium",
                                  "--no-first-run", "--no-default-browser-check", "--password-store=basic", "--disable-breakpad"};
  if (!o.gpu) cmd.push_back("--disable-gpu");
  if (!o.audio) cmd.push_back("--mute-audio");
  if (platform == "headless") cmd.push_back("--headless");
  if (platform == "wayland") cmd.push_back("--ozone-platform=wayland");
  if (platform == "x11") cmd.push_back("--ozone-platform=x11");
  for (const auto& f : o.browser_flags) cmd.push_back(f);
  cmd.push_back("about:blank");
  return cmd;
}

namespace {

// The `airlock run` (or `airlock box run NAME`) invocation of the browser.
Result<std::vector<std::string>> BrowserArgv(const SessionOptions& o, const DisplayChoice& display, const DisplayChoice& asked,
                                             const std::string& incoming, const std::string& bus_socket) {
  auto r = BrowserRunRequest(o, display, asked, incoming, bus_socket);
  if (!r) return std::unexpected(r.error());
  r->PassFd(3).PassFd(4);  // the DevTools pipe
  std::vector<std::string> cmd = ChromiumCommand(o, display.platform);
  r->Command(cmd);
  return BoxedArgv(*r, o);
}

}  // namespace

namespace {

// The DevTools side of a session: commands out, replies and events in, one poll loop.
class Session : public SessionDriver {
 public:
  using SessionDriver::SessionDriver;
  int Run() override;

 private:
  int64_t Send(const std::string& method, const json& params = json::object(), const std::string& session = {}) {
    const int64_t id = next_id_++;
    std::string frame = cdp::EncodeCommand(id, method, params, session);
    for (size_t done = 0; done < frame.size();) {
      ssize_t n = ::write(l_.to_browser.get(), frame.data() + done, frame.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return -1;  // the browser is gone: its EOF ends the loop
      done += static_cast<size_t>(n);
    }
    return id;
  }
  void Handle(const cdp::Message& m);
  void OnReply(const cdp::Message& m);
  void OnDownloadDone(const Download& d);
  void CancelTooLarge(Download& d, double received);
  bool Settled(int64_t now);
  void BeginClosing();
  void CloseBrowser();

  cdp::Framer framer_;
  int64_t next_id_ = 1;
  std::map<int64_t, std::string> pending_;  // id -> purpose
  std::map<std::string, std::string> pages_;  // targetId -> url
  std::map<std::string, Download> downloads_;
  std::string session_, page_target_;
  int64_t closing_since_ = -1;
  bool closing_ = false, close_sent_ = false;
  bool debug_ = std::getenv("AIRLOCK_BROWSER_DEBUG") != nullptr;  // every DevTools message on stderr
  int awaiting_ = 0;  // replies wanted before closing (screenshot, text)
};

void Session::Handle(const cdp::Message& m) {
  if (m.is_reply()) return OnReply(m);
  last_event_ms_ = NowMs();
  const json& p = m.params;
  if (m.method == "Target.targetCreated" || m.method == "Target.targetInfoChanged") {
    const json& info = p.value("targetInfo", json::object());
    if (info.value("type", "") != "page") return;
    const std::string id = info.value("targetId", "");
    pages_[id] = info.value("url", "");
    if (session_.empty() && page_target_.empty()) {
      page_target_ = id;
      pending_[Send("Target.attachToTarget", {{"targetId", id}, {"flatten", true}})] = "attach";
    }
  } else if ((m.method == "Page.loadEventFired" ||
              (m.method == "Page.frameStoppedLoading" && p.value("frameId", "") == page_target_)) && m.session_id == session_) {
    if (!loaded_) load_ms_ = NowMs() - start_ms_;
    loaded_ = true;
  } else if (m.method == "Browser.downloadWillBegin") {
    Download d;
    d.guid = p.value("guid", "");
    d.url = p.value("url", "");
    d.suggested = p.value("suggestedFilename", "");
    auto page = pages_.find(p.value("frameId", ""));
    d.referrer = page != pages_.end() ? page->second : pages_.count(page_target_) ? pages_[page_target_] : "";
    d.state = "inProgress";
    if (downloads_.size() < 1000) downloads_[d.guid] = d;
    else dropped_.push_back("more than 1000 downloads in one session: " + Utf8Text(d.url.substr(0, 200)) + " not taken");
  } else if (m.method == "Browser.downloadProgress") {
    auto it = downloads_.find(p.value("guid", ""));
    if (it == downloads_.end() || it->second.state == "too-large") return;
    const std::string state = p.value("state", "");
    const double received = p.value("receivedBytes", 0.0);
    if (state == "inProgress" && received > static_cast<double>(o_.max_download_bytes)) return CancelTooLarge(it->second, received);
    if (state == it->second.state) return;
    it->second.state = state;
    if (state == "completed") OnDownloadDone(it->second);
  }
}

void Session::OnReply(const cdp::Message& m) {
  auto it = pending_.find(*m.id);
  if (it == pending_.end()) return;
  const std::string purpose = it->second;
  pending_.erase(it);
  if (purpose == "attach") {
    session_ = m.result.value("sessionId", "");
    if (session_.empty()) return Say("cannot attach to the page: " + m.error);
    Send("Page.enable", json::object(), session_);
    const std::string url = o_.url.empty() ? (o_.check ? "data:text/html,<title>airlock check</title><p>check</p>" : "") : o_.url;
    if (url.empty()) {
      loaded_ = true;
      load_ms_ = NowMs() - start_ms_;
    } else {
      pending_[Send("Page.navigate", {{"url", url}}, session_)] = "navigate";
    }
  } else if (purpose == "navigate") {
    navigate_error_ = !m.error.empty() ? m.error : m.result.value("errorText", "");
    if (!navigate_error_.empty() || m.result.value("isDownload", false)) {  // a download loads no page
      loaded_ = true;  // an error page loads (and is what the user sees)
      if (load_ms_ < 0) load_ms_ = NowMs() - start_ms_;
    }
  } else if (purpose == "screenshot") {
    --awaiting_;
    std::string data = m.result.value("data", "");
    if (data.empty()) Say("screenshot failed: " + m.error);
    else if (auto w = WriteNewFile(o_.screenshot, Base64Decode(data)); !w) Say(w.error().What());
  } else if (purpose == "text") {
    --awaiting_;
    text_ = m.result.value("result", json::object()).value("value", "");
    if (text_.size() > 4096) text_.resize(4096);
  }
}

// Past the size cap: cancelled in Chromium, its partial file removed (by the GUID it was named by).
void Session::CancelTooLarge(Download& d, double received) {
  d.state = "too-large";
  Send("Browser.cancelDownload", {{"guid", d.guid}});
  if (ValidGuid(d.guid)) (void)::unlinkat(incoming_.get(), d.guid.c_str(), 0);
  const std::string what = fmt::format("download '{}' passed the size cap ({:.0f} bytes received, at most {}): cancelled, nothing kept "
                                       "(--max-download SIZE)", Utf8Text(d.suggested), received, o_.max_download_bytes);
  Say(what);
  dropped_.push_back(what);
}

void Session::OnDownloadDone(const Download& d) {
  if (!ValidGuid(d.guid)) return dropped_.push_back("a download with an odd GUID was not taken");
  // By the GUID Chromium named it (allowAndName): a name from the page never names a path here.
  HeldDownload meta;
  meta.suggested_name = d.suggested;
  meta.url = d.url;
  meta.referrer = d.referrer;
  meta.scripted = d.url.starts_with("blob:") || d.url.starts_with("data:");
  AdmitFinished(q_, judge_, incoming_.get(), d.guid, meta, dropped_);
}

bool Session::Settled(int64_t now) {
  if (!loaded_ || !judge_.Idle()) return false;
  for (const auto& [guid, d] : downloads_) if (d.state == "inProgress") return false;
  return now - last_event_ms_ >= o_.settle_ms;
}

void Session::BeginClosing() {
  closing_ = true;
  closing_since_ = NowMs();
  if (!session_.empty()) {
    if (!o_.screenshot.empty()) {
      pending_[Send("Page.captureScreenshot", {{"format", "png"}}, session_)] = "screenshot";
      ++awaiting_;
    }
    pending_[Send("Runtime.evaluate", {{"expression", "document.title + '\\n' + (document.body ? document.body.innerText : '')"},
                                        {"returnByValue", true}}, session_)] = "text";
    ++awaiting_;
  }
}

void Session::CloseBrowser() {
  if (o_.check) {
    facts_ = CheckBrowserSandbox(l_.pid);
    checked_ = true;
  }
  close_sent_ = true;
  Send("Browser.close");
}

int Session::Run() {
  Send("Browser.setDownloadBehavior", {{"behavior", "allowAndName"}, {"downloadPath", kInsideDownloads}, {"eventsEnabled", true}});
  Send("Target.setDiscoverTargets", {{"discover", true}});
  const bool automatic = o_.until_settled || o_.check;
  const int64_t timeout_ms = o_.timeout_s > 0 ? int64_t{o_.timeout_s} * 1000 : automatic ? 90000 : 0;
  bool eof = false, interrupted = false;
  int64_t kill_at = -1;
  char buf[65536];
  while (!eof) {
    const int64_t now = NowMs();
    if (!closing_ && automatic && Settled(now)) BeginClosing();
    if (!closing_ && timeout_ms > 0 && now - start_ms_ > timeout_ms) {
      Say(fmt::format("the session reached its time limit ({} s): closing the browser", timeout_ms / 1000));
      BeginClosing();
    }
    if (closing_ && !close_sent_ && (awaiting_ <= 0 || now - closing_since_ > 10000)) {
      CloseBrowser();
      kill_at = now + 10000;
    }
    if (kill_at > 0 && now > kill_at) {
      ::kill(l_.pid, SIGTERM);  // KillOnInterrupt: the sandbox is killed whole
      kill_at = now + 5000;
    }
    pollfd fds[2] = {{l_.from_browser.get(), POLLIN, 0}, {o_.interrupt_fd, POLLIN, 0}};
    int n = ::poll(fds, o_.interrupt_fd >= 0 ? 2 : 1, 200);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0 && o_.interrupt_fd >= 0 && (fds[1].revents & POLLIN) && !interrupted) {
      interrupted = true;
      Say("interrupted: closing the browser; downloads not yet judged stay in quarantine, unjudged");
      if (!close_sent_) CloseBrowser();
      kill_at = NowMs() + 2000;
    }
    if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = ::read(l_.from_browser.get(), buf, sizeof buf);
      if (r <= 0) {
        eof = r == 0 || errno != EINTR;
        continue;
      }
      if (auto fed = framer_.Feed(std::string_view(buf, static_cast<size_t>(r))); !fed) {
        Say("DevTools stream unusable: " + fed.error().What());
        break;
      }
      while (auto text = framer_.Next()) {
        if (debug_) std::fprintf(stderr, "cdp< %.300s\n", text->c_str());
        if (auto m = cdp::ParseMessage(*text)) Handle(*m);
      }
    }
  }
  int status = 0;
  for (int waited = 0; ::waitpid(l_.pid, &status, WNOHANG) == 0; ++waited) {
    if (waited == 50) ::kill(l_.pid, SIGTERM);
    if (waited == 100) ::kill(l_.pid, SIGKILL);
    ::usleep(100000);
  }
  std::set<std::string> guids;
  for (const auto& [guid, d] : downloads_) guids.insert(guid);
  AdmitSavedFiles(guids);
  judge_.Finish();  // downloads already taken are judged (an interrupt interrupts their scans)
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The fresh incoming directory the sandbox writes its downloads into (owned by the sandbox's ids).
Result<std::pair<std::string, UniqueFd>> MakeIncoming(const std::string& root) {
  const std::string dir = fmt::format("{}/.incoming-{}", root, ::getpid());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoError("mkdir " + dir);
  if (::geteuid() == 0) {
    auto ids = SandboxHostIds("browser");
    if (!ids) return std::unexpected(ids.error());
    if (::chown(dir.c_str(), ids->uid, ids->gid) != 0) return ErrnoError("chown " + dir);
  }
  UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoError("open " + dir);
  return std::pair<std::string, UniqueFd>{dir, std::move(fd)};
}

}  // namespace

namespace {

// The session's exit code (RunBrowserSession's contract), saying what ended the sandbox when it failed;
// with --check, the facts on stdout.
int SessionExit(const SessionOptions& o, SessionDriver& session, int run_exit, const std::string& log) {
  int exit = 0;
  if (run_exit != 0 && run_exit != 143 && run_exit != 130) {
    auto tail = ReadRegularFileBounded(log, 8 << 20, "log too large");
    std::string last = tail ? tail->substr(tail->size() > 1500 ? tail->size() - 1500 : 0) : "";
    Say(fmt::format("the browser's sandbox ended with exit code {}; the end of {}:\n{}", run_exit, log, Utf8Text(last)));
    if (!session.checked()) exit = 2;
  }
  if (session.checked()) {
    std::fputs((o.json ? SandboxFactsJson(session.facts()) + "\n" : SandboxFactsText(session.facts())).c_str(), stdout);
    exit = session.facts().ok ? 0 : 1;
  }
  return exit;
}

}  // namespace

int RunBrowserSession(const SessionOptions& o) {
  const ReportClock clock;  // the report envelope: started, duration
  const std::vector<std::string> env = CurrentEnvironment();
  auto display = ChooseDisplay(env, o.headless);
  if (!display) return Say(display.error().What()), 2;
  const bool firefox = o.browser == "firefox";
  if (!firefox && o.browser != "chromium") return Say("--browser must be chromium or firefox, not '" + o.browser + "'"), 2;
  const std::string& binary = firefox ? o.firefox : o.chromium;
  if (::access(binary.c_str(), X_OK) != 0) {
    return Say("no browser at " + binary + (firefox ? ": install Debian's Firefox ESR (apt-get install firefox-esr)"
                                                    : ": install Debian's chromium (apt-get install chromium)")), 2;
  }
  std::vector<std::string> weakenings;
  if (!display->weakening.empty()) weakenings.push_back(display->weakening);
  for (const auto& f : o.browser_flags) {
    if (f == "--no-sandbox" || f.starts_with("--disable-seccomp")) weakenings.push_back("the browser's own sandbox is switched off (" + f + ")");
  }
  auto opt_ins = StartOptIns(env, {.audio = o.audio, .dbus = o.dbus, .gpu = o.gpu, .screen_share = o.screen_share}, "the browser", weakenings);
  if (!opt_ins) return Say(opt_ins.error().What()), 2;
  auto q = Quarantine::Open(o.quarantine);
  if (!q) return Say(q.error().What()), 2;
  DisplayChoice asked = opt_ins->Asked();  // what was asked for beyond the display: --audio, --gpu, --screen-share, --keepassxc
  const std::string manifest = fmt::format("{}/.keepassxc-{}.json", q->root(), ::getpid());
  if (o.keepassxc) {
    auto k = ChooseKeePassXc(env, o.browser, manifest);
    if (!k) return Say(k.error().What()), 2;
    asked.ro_binds.insert(asked.ro_binds.end(), k->ro_binds.begin(), k->ro_binds.end());
    asked.env.insert(asked.env.end(), k->env.begin(), k->env.end());
    weakenings.push_back(k->weakening);
  }
  for (const auto& w : weakenings) Say("WEAKENED: " + w);
  if (!o.box.empty()) {
    const std::string homes = std::filesystem::path(o.quarantine).parent_path().string() + "/browser-homes";
    if (auto box = EnsureHomeBox(o.box, "browser", homes, kInsideHome, "the browser's profile"); !box) return Say(box.error().What()), 2;
  }
  auto incoming = MakeIncoming(q->root());
  if (!incoming) return Say(incoming.error().What()), 2;
  auto argv = firefox ? FirefoxArgv(o, *display, asked, incoming->first, opt_ins->bus_socket())
                      : BrowserArgv(o, *display, asked, incoming->first, opt_ins->bus_socket());
  if (!argv) return Say(argv.error().What()), 2;
  const std::string log = q->root() + "/browser.log";
  UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  auto launched = Launch(*argv, log_fd.get());
  if (!launched) return Say(launched.error().What()), 2;
  Say(fmt::format("{} {} ({}, {}); downloads are held in {} and judged; the browser's messages go to {}",
                  firefox ? "Firefox:" : "Chromium:", o.box.empty() ? "disposable browser" : "browser in box '" + o.box + "'", display->platform,
                  o.net.empty() ? "network: user-mode" : "network: " + o.net, q->root(), log));
  std::unique_ptr<SessionDriver> driver = firefox ? MakeFirefoxDriver(o, std::move(*launched), *q, std::move(incoming->second))
                                                  : std::make_unique<Session>(o, std::move(*launched), *q, std::move(incoming->second));
  SessionDriver& session = *driver;
  const int run_exit = session.Run();
  std::error_code ec;
  std::filesystem::remove_all(incoming->first, ec);  // unfinished downloads are dropped, never released
  if (o.keepassxc) std::filesystem::remove(manifest, ec);
  const int exit = SessionExit(o, session, run_exit, log);
  if (!o.report.empty()) {
    json r = session.Report();
    r["display"] = display->platform;
    r["browser"] = o.browser;
    r["box"] = o.box;
    r["weakenings"] = weakenings;
    r["sandbox_exit"] = run_exit;
    StampReportEnvelope(r, "browser", clock);
    if (auto w = WriteNewFile(o.report, DumpJson(r, 2) + "\n"); !w) Say(w.error().What());
  }
  return exit;
}


}  // namespace airlock::browser
