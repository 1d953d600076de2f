#include "browser/firefox_session.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "browser/marionette.h"
#include "browser/sandbox_check.h"
#include "core/json_text.h"
#include "core/file_read.h"
#include "runapi/run_request.h"

namespace airlock::browser {
using nlohmann::json;
using namespace std::chrono_literals;

std::string FirefoxPrefs() {
  std::string out;
  const auto pref = [&out](const std::string& name, const std::string& value) { out += "user_pref(\"" + name + "\", " + value + ");\n"; };
  pref("marionette.port", std::to_string(kMarionettePort));
  // Pages cannot make the browser connect to its own Marionette port (fetch, WebSocket, a form).
  pref("network.security.ports.banned", "\"" + std::to_string(kMarionettePort) + "\"");
  pref("browser.download.dir", std::string("\"") + kInsideDownloads + "\"");
  pref("browser.download.folderList", "2");
  pref("browser.download.useDownloadDir", "true");
  pref("browser.download.always_ask_before_handling_new_types", "false");
  pref("browser.download.start_downloads_in_tmp_dir", "false");
  pref("browser.download.open_pdf_attachments_inline", "false");
  pref("browser.shell.checkDefaultBrowser", "false");
  pref("browser.aboutwelcome.enabled", "false");
  pref("browser.startup.homepage_override.mstone", "\"ignore\"");
  pref("datareporting.policy.dataSubmissionEnabled", "false");
  pref("datareporting.healthreport.uploadEnabled", "false");
  pref("toolkit.telemetry.enabled", "false");
  pref("app.update.auto", "false");
  return out;
}

Result<std::vector<std::string>> FirefoxArgv(const SessionOptions& o, const DisplayChoice& display, const DisplayChoice& asked,
                                             const std::string& incoming, const std::string& bus_socket) {
  if (o.net == "host") {
    return MakeError("--browser firefox cannot share the host network: its Marionette port would listen on the host's loopback, "
                     "where any local user could drive the browser (use the default user-mode network, or --net none|sinkhole)");
  }
  auto r = BrowserRunRequest(o, display, asked, incoming, bus_socket);
  if (!r) return std::unexpected(r.error());
  r->Listen(kMarionettePort);
  if (display.platform == "x11") r->SetEnv("MOZ_ENABLE_WAYLAND=0");
  // The prefs are written by a shell inside (the profile lives on the sandbox's home or the box's).
  std::vector<std::string> cmd = {"/bin/sh", "-c", "mkdir -p \"$1\" && printf '%s' \"$2\" > \"$1/user.js\" && shift 2 && exec \"$@\"",
                                  "airlock-firefox", kFirefoxProfile, FirefoxPrefs(), o.firefox, "--marionette",
                                  "-remote-allow-system-access", "--profile", kFirefoxProfile, "--no-remote"};
  if (display.platform == "headless") cmd.push_back("--headless");
  for (const auto& f : o.browser_flags) cmd.push_back(f);
  cmd.push_back("about:blank");
  r->Command(cmd);
  return BoxedArgv(*r, o);
}

namespace {

// Every download Firefox knows, as plain data; one past max (arguments[0]) is cancelled with its
// partial data removed (finalize(true)).
constexpr const char* kDownloadsScript = R"JS(
const max = arguments[0], resolve = arguments[arguments.length - 1];
const page = gBrowser && gBrowser.currentURI ? String(gBrowser.currentURI.spec) : "";
const { Downloads } = ChromeUtils.importESModule("resource://gre/modules/Downloads.sys.mjs");
(async () => {
  const out = [];
  for (const d of await (await Downloads.getList(Downloads.ALL)).getAll()) {
    let referrer = "";
    try { const r = d.source.referrerInfo; referrer = r && r.originalReferrer ? r.originalReferrer.spec : ""; } catch (e) {}
    const o = { url: String(d.source.url || ""), referrer: referrer, page: page, path: String(d.target.path || ""),
                started: d.startTime ? String(d.startTime.getTime()) : "", succeeded: !!d.succeeded, stopped: !!d.stopped,
                error: d.error ? String(d.error.message || d.error) : "", bytes: d.currentBytes || 0, too_large: false };
    if (!d.stopped && max > 0 && d.currentBytes > max) { o.too_large = true; d.finalize(true).catch(() => {}); }
    out.push(o);
  }
  return out;
})().then(resolve, e => resolve({ error: String(e) }));
)JS";

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
bool Flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}
double Number(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0;
}

// The Firefox main process below root (the shallowest process running the Firefox binary without
// -contentproc), or -1.
pid_t FirefoxBelow(pid_t root) {
  pid_t best = -1;
  int best_depth = 1 << 30;
  for (const auto& [pid, depth] : ProcessesBelow(root)) {
    if (depth >= best_depth) continue;
    auto cmdline = ReadRegularFileBounded(fmt::format("/proc/{}/cmdline", pid), 1 << 16, "too large");
    if (!cmdline || cmdline->find("-contentproc") != std::string::npos) continue;
    const std::string argv0 = std::filesystem::path(cmdline->substr(0, cmdline->find('\0'))).filename().string();
    if (argv0 != "firefox-esr" && argv0 != "firefox" && argv0 != "firefox-bin") continue;
    best = pid;
    best_depth = depth;
  }
  return best;
}

class FirefoxDriver : public SessionDriver {
 public:
  using SessionDriver::SessionDriver;
  int Run() override;

 private:
  bool Connect(int64_t deadline);
  Result<json> Call(const std::string& command, const json& params, std::chrono::milliseconds timeout = 20s);
  Result<json> InContext(const std::string& context, const std::string& command, const json& params);
  void Navigate(const std::string& url);
  void PollPage();
  void PollDownloads();
  void OnDownload(const json& d);
  bool Settled(int64_t now);
  void Close();
  bool SandboxExited(int* status);
  bool WaitTick(int ms);  // false when interrupted

  std::unique_ptr<Marionette> m_;
  std::string context_ = "content";
  std::set<std::string> finished_;  // downloads handled (path|start time)
  std::set<std::string> download_names_;  // every download's file name in /downloads, finished or not
  size_t in_progress_ = 0;
  int status_ = 0;  // the sandbox's wait status, once exited_
  bool exited_ = false, too_many_ = false;
  bool gone_ = false, interrupted_ = false;
  bool debug_ = std::getenv("AIRLOCK_BROWSER_DEBUG") != nullptr;  // each poll's answer on stderr
};

Result<json> FirefoxDriver::Call(const std::string& command, const json& params, std::chrono::milliseconds timeout) {
  if (!m_ || gone_) return MakeError("the browser is gone");
  auto r = m_->Call(command, params, timeout);
  const std::string what = r ? "" : r.error().What();
  if (!r && (what.find("is gone") != std::string::npos || what.find("closed its Marionette") != std::string::npos ||
             what.find("malformed") != std::string::npos || what.find("not JSON") != std::string::npos)) {
    gone_ = true;  // closed by the user, crashed, or talking nonsense: the session ends
  }
  return r;
}

Result<json> FirefoxDriver::InContext(const std::string& context, const std::string& command, const json& params) {
  if (context_ != context) {
    if (auto set = Call("Marionette:SetContext", {{"value", context}}); !set) return set;
    context_ = context;
  }
  return Call(command, params);
}

bool FirefoxDriver::SandboxExited(int* status) { return ::waitpid(l_.pid, status, WNOHANG) == l_.pid; }

bool FirefoxDriver::WaitTick(int ms) {
  pollfd p{o_.interrupt_fd, POLLIN, 0};
  if (o_.interrupt_fd < 0) return ::usleep(static_cast<useconds_t>(ms) * 1000), true;
  return !(::poll(&p, 1, ms) > 0 && (p.revents & POLLIN));
}

// Waits for Firefox to listen on its Marionette port, then opens the session.
bool FirefoxDriver::Connect(int64_t deadline) {
  std::string last = "Firefox did not start";
  while (NowMs() < deadline) {
    if (SandboxExited(&status_)) return !(exited_ = true);
    if (pid_t ff = FirefoxBelow(l_.pid); ff > 0) {
      auto fd = ConnectInsideSandbox(ff, kMarionettePort);
      if (fd) {
        m_ = std::make_unique<Marionette>(std::move(*fd));
        auto hello = m_->Hello(10s);
        auto session = hello ? m_->Call("WebDriver:NewSession", {{"capabilities", {{"alwaysMatch", {{"pageLoadStrategy", "none"}}}}}}, 60s)
                             : Result<json>(std::unexpected(hello.error()));
        if (session) return true;
        last = session.error().What();
        m_.reset();
      } else {
        last = fd.error().What();
      }
    }
    if (!WaitTick(250)) {
      interrupted_ = true;
      return false;
    }
  }
  Say("cannot drive Firefox: " + last);
  return false;
}

// Loaded from the browser's chrome as if typed (WebDriver:Navigate would wait for a document, and a
// URL that is a download never makes one); an error page counts as loaded (it is what the user sees).
void FirefoxDriver::Navigate(const std::string& url) {
  auto nav = InContext("chrome", "WebDriver:ExecuteScript",
                       {{"script", "openTrustedLinkIn(arguments[0], 'current'); return true;"}, {"args", json::array({url})}});
  if (!nav) {
    navigate_error_ = Utf8Text(nav.error().What());
    loaded_ = true;
    load_ms_ = NowMs() - start_ms_;
  }
}

// From the browser's chrome (a content script cannot run on an error page): loaded once the tab has
// navigated away from about:blank (or no URL was given) and no document is loading.
void FirefoxDriver::PollPage() {
  auto r = InContext("chrome", "WebDriver:ExecuteScript",
                     {{"script", "const b = gBrowser.selectedBrowser; return [!!(b.webProgress && b.webProgress.isLoadingDocument), "
                                 "String(b.currentURI ? b.currentURI.spec : ''), String(b.documentURI ? b.documentURI.spec : '')];"},
                      {"args", json::array()}});
  if (!r || !r->is_object() || !(*r)["value"].is_array() || (*r)["value"].size() != 3) return;
  const json& v = (*r)["value"];
  const bool loading = !v[0].is_boolean() || v[0].get<bool>();
  const std::string current = v[1].is_string() ? v[1].get<std::string>() : "", document = v[2].is_string() ? v[2].get<std::string>() : "";
  if (loading || (!o_.url.empty() && current == "about:blank" && document == "about:blank")) return;
  loaded_ = true;
  load_ms_ = NowMs() - start_ms_;
  last_event_ms_ = NowMs();
  if (document.starts_with("about:neterror") || document.starts_with("about:certerror")) navigate_error_ = Utf8Text(document.substr(0, 300));
}

void FirefoxDriver::OnDownload(const json& d) {
  const std::string path = Str(d, "path"), key = path + "|" + Str(d, "started");
  if (finished_.count(key)) return;
  const std::string name = path.starts_with(std::string(kInsideDownloads) + "/") ? path.substr(std::string(kInsideDownloads).size() + 1) : "";
  if (!name.empty() && download_names_.size() < 2000) download_names_.insert(name);  // not a saved file (AdmitSavedFiles)
  const std::string shown = Utf8Text(std::filesystem::path(path).filename().string());
  if (Flag(d, "too_large") || (Flag(d, "succeeded") && Number(d, "bytes") > static_cast<double>(o_.max_download_bytes))) {
    if (Flag(d, "succeeded") && !name.empty()) (void)::unlinkat(incoming_.get(), name.c_str(), 0);  // finished between two polls
    finished_.insert(key);
    last_event_ms_ = NowMs();
    const std::string what = fmt::format("download '{}' passed the size cap ({:.0f} bytes received, at most {}): cancelled, nothing kept "
                                         "(--max-download SIZE)", shown, Number(d, "bytes"), o_.max_download_bytes);
    Say(what);
    return dropped_.push_back(what);
  }
  if (!Flag(d, "stopped")) return void(++in_progress_);
  finished_.insert(key);
  last_event_ms_ = NowMs();
  if (!Flag(d, "succeeded")) return dropped_.push_back("download '" + shown + "' failed in the browser: " + Utf8Text(Str(d, "error").substr(0, 200)));
  HeldDownload meta;
  meta.suggested_name = std::filesystem::path(path).filename().string();
  meta.url = Str(d, "url");
  meta.referrer = Str(d, "referrer").empty() ? Str(d, "page") : Str(d, "referrer");  // a script's click has none: the tab's page
  meta.scripted = meta.url.starts_with("blob:") || meta.url.starts_with("data:");
  if (name.empty()) return dropped_.push_back("download '" + shown + "' was saved outside " + kInsideDownloads + ": not taken");
  AdmitFinished(q_, judge_, incoming_.get(), name, meta, dropped_);
}

void FirefoxDriver::PollDownloads() {
  auto r = InContext("chrome", "WebDriver:ExecuteAsyncScript",
                     {{"script", kDownloadsScript}, {"args", json::array({static_cast<double>(o_.max_download_bytes)})}});
  if (debug_) std::fprintf(stderr, "marionette< %.600s\n", r ? DumpJson(*r).c_str() : r.error().What().c_str());
  if (!r || !r->is_object() || !(*r)["value"].is_array()) return;
  in_progress_ = 0;
  size_t n = 0;
  for (const json& d : (*r)["value"]) {
    if (!d.is_object()) continue;
    if (++n > 1000) {
      if (!too_many_) dropped_.push_back("more than 1000 downloads in one session: the rest not taken");
      too_many_ = true;
      break;
    }
    OnDownload(d);
  }
  if (!o_.url.empty() && !loaded_ && !finished_.empty()) {  // the URL was a download: no page loads
    loaded_ = true;
    load_ms_ = NowMs() - start_ms_;
  }
}

bool FirefoxDriver::Settled(int64_t now) {
  return loaded_ && in_progress_ == 0 && judge_.Idle() && now - last_event_ms_ >= o_.settle_ms;
}

// Screenshot and text (automatic sessions), the --check facts, then Quit.
void FirefoxDriver::Close() {
  if (!gone_ && !interrupted_) {
    if (!o_.screenshot.empty()) {
      auto shot = InContext("content", "WebDriver:TakeScreenshot", {{"full", false}, {"hash", false}});
      if (!shot || !shot->is_object()) Say("screenshot failed: " + (shot ? std::string("no image") : shot.error().What()));
      else if (auto w = WriteNewFile(o_.screenshot, Base64Decode(Str(*shot, "value"))); !w) Say(w.error().What());
    }
    auto text = InContext("content", "WebDriver:ExecuteScript",
                          {{"script", "return document.title + '\\n' + (document.body ? document.body.innerText : '')"}, {"args", json::array()}});
    if (text && text->is_object()) text_ = Utf8Text(Str(*text, "value").substr(0, 4096));
  }
  if (o_.check) {
    facts_ = CheckBrowserSandbox(l_.pid);
    checked_ = true;
  }
  if (!gone_) (void)Call("Marionette:Quit", {{"flags", json::array({"eForceQuit"})}}, 10s);
}

int FirefoxDriver::Run() {
  const bool automatic = o_.until_settled || o_.check;
  const int64_t timeout_ms = o_.timeout_s > 0 ? int64_t{o_.timeout_s} * 1000 : automatic ? 90000 : 0;
  const int64_t connect_deadline = start_ms_ + (timeout_ms > 0 ? timeout_ms : 120000);
  if (Connect(connect_deadline)) {
    const std::string url = o_.url.empty() ? (o_.check ? "data:text/html,<title>airlock check</title><p>check</p>" : "") : o_.url;
    if (!url.empty()) Navigate(url);
    while (!gone_) {
      if (!loaded_) PollPage();
      PollDownloads();
      const int64_t now = NowMs();
      if (automatic && Settled(now)) break;
      if (timeout_ms > 0 && now - start_ms_ > timeout_ms) {
        Say(fmt::format("the session reached its time limit ({} s): closing the browser", timeout_ms / 1000));
        break;
      }
      if (!WaitTick(automatic ? 250 : 500)) {
        interrupted_ = true;
        Say("interrupted: closing the browser; downloads not yet judged stay in quarantine, unjudged");
        break;
      }
    }
  }
  if (!exited_) {
    if (!interrupted_) Close();
    else if (o_.check) facts_ = CheckBrowserSandbox(l_.pid), checked_ = true;
    for (int waited = 0; !(exited_ = SandboxExited(&status_)); ++waited) {
      if (waited == (interrupted_ ? 0 : 100)) ::kill(l_.pid, SIGTERM);  // KillOnInterrupt: the sandbox is killed whole
      if (waited == (interrupted_ ? 20 : 150)) ::kill(l_.pid, SIGKILL);
      ::usleep(100000);
    }
  }
  AdmitSavedFiles(download_names_);
  judge_.Finish();
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
}

}  // namespace

std::unique_ptr<SessionDriver> MakeFirefoxDriver(const SessionOptions& o, Launched l, Quarantine& q, UniqueFd incoming) {
  return std::make_unique<FirefoxDriver>(o, std::move(l), q, std::move(incoming));
}

}  // namespace airlock::browser
