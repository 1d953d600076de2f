// airlock-browser: `airlock browser` (a person's browser inside airlock) and `airlock downloads` (its
// download quarantine). docs/BROWSER.md, "Browsing in airlock". The front end execs this binary with
// the command name first, as it does for `milter`/`quarantine`.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "browser/app_session.h"
#include "browser/browser_session.h"
#include "browser/desktop_entries.h"
#include "browser/quarantine.h"
#include "core/helper_path.h"
#include "policy/profile_loader.h"
#include "core/json_text.h"
#include "core/report_envelope.h"
#include "process/interrupt.h"

using namespace airlock;
using namespace airlock::browser;

namespace {

constexpr const char* kBrowserUsage =
    "Usage: airlock browser [--box NAME | --disposable] [--browser chromium|firefox] [--net MODE] [--check [--json]] [URL]\n"
    "  Chromium or Firefox ESR inside an airlock sandbox, its own sandbox still on; every download held and judged.\n"
    "  --disposable        a fresh profile, thrown away at exit (the default)\n"
    "  --box NAME          keep the profile and cookies in the box NAME (created on first use, empty home)\n"
    "  --box-per-site      the box that owns the URL's site (site-HOST): one box per site, as Application Guard\n"
    "  --net-allow HOST:PORT  with user-mode networking: only these destinations (repeatable; names resolved by airlock)\n"
    "  --browser NAME      chromium (default) or firefox (Debian's Firefox ESR, driven over Marionette)\n"
    "  --net MODE          user (default: user-mode networking), none, sinkhole or host (a weakening; not with firefox)\n"
    "  --check             open a page, report from /proc that renderers run in the browser's own sandbox\n"
    "                      (Seccomp 2, own user and pid namespaces; Firefox: user and network), close;\n"
    "                      exit 0 on, 1 off, 2 error\n"
    "  --json              --check: the facts as JSON\n"
    "  --headless          no display (for --check and scripts)\n"
    "  --dbus              your session bus through a filtering proxy: notifications and the desktop portal only\n"
    "  --audio             your sound server's socket (PulseAudio or PipeWire; it can record too): a weakening\n"
    "  --gpu               the GPU's render nodes (/dev/dri/renderD*; the driver is more kernel to attack): a weakening\n"
    "  --screen-share      share a screen or window through the desktop portal on Wayland (the portal and PipeWire): a weakening\n"
    "  --uploads DIR       the one folder pages can upload from: DIR read-only at ~/Uploads inside\n"
    "  --keepassxc         KeePassXC-Browser reaches your KeePassXC (its socket and proxy): a weakening\n"
    "  --until-settled     close once the page has loaded and its downloads are judged (scripts, tests)\n"
    "  --screenshot FILE   a PNG of the page before closing (with --until-settled or --check)\n"
    "  --report FILE       a JSON summary at the end (page, downloads and verdicts, sandbox facts)\n"
    "  --timeout SECONDS   close the browser after this long (default: none; 90 with --until-settled/--check)\n"
    "  --browser-flag FLAG an extra browser flag (repeatable; Chromium's --no-sandbox is reported as a weakening)\n"
    "  --chromium PATH     Chromium's binary (default /usr/bin/chromium)\n"
    "  --firefox PATH      Firefox's binary (default /usr/bin/firefox-esr)\n"
    "  --quarantine DIR    the download quarantine (default $XDG_DATA_HOME/airlock/downloads)\n"
    "  --downloads DIR     where judged files are released (default XDG_DOWNLOAD_DIR or ~/Downloads)\n"
    "  --max-download SIZE cancel a download that grows past SIZE (default 2g; k, m, g suffixes)\n"
    "  --notify on|off     tell each verdict as a desktop notification on your session bus (default on)\n"
    "  --notify-bus-dir DIR  where session buses are (default /run/user: DIR/UID/bus)\n";

constexpr const char* kDownloadsUsage =
    "Usage: airlock downloads list [--json] | release ID | delete ID  [--quarantine DIR] [--downloads DIR]\n"
    "  The browser's download quarantine: clean files were released at once, suspicious ones wait for\n"
    "  `release ID`, malicious ones stay (delete them). Released files carry user.airlock.origin and\n"
    "  user.airlock.verdict (docs/ENDPOINT.md).\n"
    "  --json              list as one JSON document (docs/schema/downloads.schema.json)\n"
    "  --quarantine DIR    the quarantine (default $XDG_DATA_HOME/airlock/downloads)\n"
    "  --downloads DIR     where released files go (default XDG_DOWNLOAD_DIR or ~/Downloads)\n";

constexpr const char* kAppUsage =
    "Usage: airlock app [--box NAME | --disposable] [--net MODE] [--file PATH] [--dbus] [--audio] [--gpu] [--screen-share] [--headless] -- PROGRAM [ARGS...]\n"
    "  A desktop program inside an airlock sandbox (the gui profile): your display, a private home,\n"
    "  no network, no audio, no GPU, no D-Bus, nothing else of your home.\n"
    "  --disposable        a fresh home, thrown away at exit (the default)\n"
    "  --box NAME          keep the program's home (its settings) in the box NAME (created on first use, empty)\n"
    "  --net MODE          none (default), user, sinkhole or host (a weakening)\n"
    "  --file PATH         bind PATH read-only at /opened/NAME; a %f argument becomes that path\n"
    "  --headless          bind no display (scripts)\n"
    "  --dbus              your session bus through a filtering proxy: notifications and the desktop portal only\n"
    "  --audio             your sound server's socket (PulseAudio or PipeWire; it can record too): a weakening\n"
    "  --gpu               the GPU's render nodes (/dev/dri/renderD*; the driver is more kernel to attack): a weakening\n"
    "  --screen-share      share a screen or window through the desktop portal on Wayland (the portal and PipeWire): a weakening\n";

constexpr const char* kDesktopUsage =
    "Usage: airlock desktop install|uninstall [--dir DIR]\n"
    "  Launcher entries for your desktop: \"Chromium (airlock)\" and \"Open in airlock\" (in \"Open with\").\n"
    "  --dir DIR           where (default $XDG_DATA_HOME/applications or ~/.local/share/applications)\n";

int Usage(const char* usage, const std::string& problem) {
  std::fprintf(stderr, "airlock: %s\n%s", problem.c_str(), usage);
  return 121;
}

struct BrowserFlags {
  bool disposable = false, notify = true, per_site = false;
  std::string notify_dir = "/run/user";
};

bool TakesValue(const std::string& a) {
  for (const char* o : {"--box", "--net", "--net-allow", "--screenshot", "--report", "--chromium", "--firefox", "--browser", "--quarantine", "--downloads", "--timeout",
                        "--browser-flag", "--notify", "--notify-bus-dir", "--max-download", "--uploads"}) {
    if (a == o) return true;
  }
  return false;
}

// One option with its value into `o`; the problem in words, "" when none.
std::string TakeValue(SessionOptions& o, BrowserFlags& f, const std::string& a, const std::string& v) {
  if (a == "--box") o.box = v;
  if (a == "--net") o.net = v;
  if (a == "--screenshot") o.screenshot = v;
  if (a == "--report") o.report = v;
  if (a == "--chromium") o.chromium = v;
  if (a == "--net-allow") o.net_allow.push_back(v);
  if (a == "--firefox") o.firefox = v;
  if (a == "--browser" && v != "chromium" && v != "firefox") return "--browser: chromium or firefox, not '" + Utf8Text(v) + "'";
  if (a == "--browser") o.browser = v;
  if (a == "--quarantine") o.quarantine = v;
  if (a == "--downloads") o.downloads_dir = v;
  if (a == "--browser-flag") o.browser_flags.push_back(v);
  if (a == "--notify-bus-dir") f.notify_dir = v;
  if (a == "--uploads") {
    std::error_code ec;
    o.uploads = std::filesystem::absolute(v, ec).string();
    if (ec || !std::filesystem::is_directory(o.uploads, ec)) return "--uploads: " + Utf8Text(v) + " is not a directory";
  }
  if (a == "--max-download") {
    auto size = ParseSize(v);
    if (!size || *size == 0) return "--max-download: '" + Utf8Text(v) + "' is not a size (e.g. 500m, 4g)";
    o.max_download_bytes = *size;
  }
  if (a == "--notify" && v != "on" && v != "off") return "--notify: on or off, not '" + Utf8Text(v) + "'";
  if (a == "--notify") f.notify = v == "on";
  if (a == "--timeout") {
    char* end = nullptr;
    long secs = std::strtol(v.c_str(), &end, 10);
    if (*end != '\0' || secs <= 0 || secs > 86400 * 7) return "--timeout: '" + v + "' is not a number of seconds";
    o.timeout_s = static_cast<int>(secs);
  }
  return "";
}

// A box name and a network mode as given (browser and app); the problem in words, "" when none.
std::string BoxAndNetProblem(const std::string& box, const std::string& net) {
  if (!net.empty() && net != "user" && net != "none" && net != "sinkhole" && net != "host") return "--net: unknown mode '" + Utf8Text(net) + "'";
  if (!box.empty() && box.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != std::string::npos) {
    return "--box: a box name is letters, digits, '.', '_' and '-'";
  }
  return "";
}

// The options' combinations; the problem in words, "" when none.
std::string CheckBrowserOptions(SessionOptions& o, const BrowserFlags& f) {
  if (f.disposable && !o.box.empty()) return "--box and --disposable exclude each other";
  if (f.per_site) {
    if (f.disposable || !o.box.empty()) return "--box-per-site excludes --box and --disposable";
    o.box = SiteBoxName(o.url);
    if (o.box.empty()) return "--box-per-site needs an http(s) URL with a host name ('" + Utf8Text(o.url) + "')";
  }
  o.notify_bus_dir = f.notify ? f.notify_dir : "";
  if (!o.net_allow.empty() && !o.net.empty() && o.net != "user") return "--net-allow needs the user-mode network (--net user, the default)";
  return BoxAndNetProblem(o.box, o.net);
}

int BrowserMain(int argc, char** argv) {
  SessionOptions o;
  o.quarantine = DefaultQuarantineDir();
  o.downloads_dir = UserDownloadsDir();
  BrowserFlags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") return std::fputs(kBrowserUsage, stdout), 0;
    if (a == "--disposable") f.disposable = true;
    else if (a == "--box-per-site") f.per_site = true;
    else if (a == "--check") o.check = true;
    else if (a == "--json") o.json = true;
    else if (a == "--headless") o.headless = true;
    else if (a == "--dbus") o.dbus = true;
    else if (a == "--audio") o.audio = true;
    else if (a == "--gpu") o.gpu = true;
    else if (a == "--screen-share") o.screen_share = true;
    else if (a == "--keepassxc") o.keepassxc = true;
    else if (a == "--until-settled") o.until_settled = true;
    else if (TakesValue(a)) {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') return Usage(kBrowserUsage, a + " needs a value");
      if (std::string problem = TakeValue(o, f, a, argv[++i]); !problem.empty()) return Usage(kBrowserUsage, problem);
    } else if (!a.starts_with("-") && o.url.empty()) {
      o.url = a;
    } else {
      return Usage(kBrowserUsage, "browser: unknown option or extra argument '" + Utf8Text(a) + "'");
    }
  }
  if (std::string problem = CheckBrowserOptions(o, f); !problem.empty()) return Usage(kBrowserUsage, problem);
  process::InterruptWatch interrupt;  // before the judge's thread starts
  o.interrupt_fd = interrupt.fd();
  return RunBrowserSession(o);
}

std::string When(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::localtime_r(&tt, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%d %H:%M", &tm);
  return out;
}

// `downloads list --json`: the envelope and every record (DownloadJson), oldest first.
void PrintDownloadsJson(const std::vector<HeldDownload>& all, const ReportClock& clock) {
  nlohmann::json out = nlohmann::json::object();
  out["downloads"] = nlohmann::json::array();
  for (const HeldDownload& d : all) out["downloads"].push_back(DownloadJson(d));
  StampReportEnvelope(out, "downloads list", clock);
  std::printf("%s\n", DumpJson(out, 2).c_str());
}

int DownloadsMain(int argc, char** argv) {
  std::string root = DefaultQuarantineDir(), downloads = UserDownloadsDir(), action, id;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") return std::fputs(kDownloadsUsage, stdout), 0;
    if (a == "--json") json = true;
    else if ((a == "--quarantine" || a == "--downloads") && i + 1 < argc) (a == "--quarantine" ? root : downloads) = argv[++i];
    else if (action.empty() && !a.starts_with("-")) action = a;
    else if (id.empty() && !a.starts_with("-") && action != "list") id = a;
    else return Usage(kDownloadsUsage, "downloads: unknown option or extra argument '" + Utf8Text(a) + "'");
  }
  if (action != "list" && action != "release" && action != "delete") return Usage(kDownloadsUsage, "downloads: expected list, release ID or delete ID");
  if (action != "list" && id.empty()) return Usage(kDownloadsUsage, "downloads " + action + ": which download? (an ID from `airlock downloads list`)");
  auto q = Quarantine::Open(root);
  if (!q) return std::fprintf(stderr, "airlock downloads: %s\n", q.error().What().c_str()), 2;
  if (action == "list") {
    const ReportClock clock;
    auto all = q->List();
    if (!all) return std::fprintf(stderr, "airlock downloads: %s\n", all.error().What().c_str()), 2;
    if (json) return PrintDownloadsJson(*all, clock), 0;
    if (all->empty()) std::fprintf(stderr, "no downloads in %s\n", root.c_str());
    for (const HeldDownload& d : *all) {
      std::string techniques;
      for (const auto& t : d.techniques) techniques += (techniques.empty() ? " " : ",") + t;
      std::printf("%s  %-9s %-10s %s  %s%s\n      from %s\n", d.id.c_str(), d.state.c_str(), d.verdict.empty() ? "-" : d.verdict.c_str(),
                  When(d.finished_at).c_str(), Utf8Text(d.name).c_str(), techniques.c_str(), Utf8Text(d.url.substr(0, 200)).c_str());
      if (!d.why.empty()) std::printf("      %s\n", Utf8Text(d.why).c_str());
    }
    return 0;
  }
  if (action == "delete") {
    if (auto del = q->Delete(id); !del) return std::fprintf(stderr, "airlock downloads: %s\n", del.error().What().c_str()), 2;
    std::printf("deleted %s\n", id.c_str());
    return 0;
  }
  auto d = q->Load(id);
  if (!d) return std::fprintf(stderr, "airlock downloads: %s\n", d.error().What().c_str()), 2;
  auto to = q->Release(*d, downloads, true);
  if (!to) return std::fprintf(stderr, "airlock downloads: %s\n", to.error().What().c_str()), 1;
  std::printf("released %s to %s\n", id.c_str(), to->c_str());
  return 0;
}

std::string AppHomesDir() {
  return std::filesystem::path(DefaultQuarantineDir()).parent_path().string() + "/app-homes";
}

int AppMain(int argc, char** argv) {
  AppOptions o;
  o.homes = AppHomesDir();
  bool disposable = false;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") return std::fputs(kAppUsage, stdout), 0;
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--disposable") disposable = true;
    else if (a == "--headless") o.headless = true;
    else if (a == "--dbus") o.dbus = true;
    else if (a == "--audio") o.audio = true;
    else if (a == "--gpu") o.gpu = true;
    else if (a == "--screen-share") o.screen_share = true;
    else if ((a == "--box" || a == "--net" || a == "--file") && i + 1 < argc && argv[i + 1][0] != '\0') {
      (a == "--box" ? o.box : a == "--net" ? o.net : o.file) = argv[++i];
    } else if (!a.starts_with("-")) {
      break;
    } else {
      return Usage(kAppUsage, "app: unknown option or missing value '" + Utf8Text(a) + "'");
    }
  }
  for (; i < argc; ++i) o.command.emplace_back(argv[i]);
  if (o.command.empty()) return Usage(kAppUsage, "app: which program? (airlock app [options] -- PROGRAM [ARGS...])");
  if (disposable && !o.box.empty()) return Usage(kAppUsage, "--box and --disposable exclude each other");
  if (std::string problem = BoxAndNetProblem(o.box, o.net); !problem.empty()) return Usage(kAppUsage, problem);
  if (!o.file.empty()) {
    std::error_code ec;
    o.file = std::filesystem::absolute(o.file, ec).string();
    if (ec || !std::filesystem::is_regular_file(o.file, ec)) return Usage(kAppUsage, "--file: " + Utf8Text(o.file) + " is not a regular file");
  }
  return RunApp(o);
}

// `airlock open DOC` for a document (the front end passes documents here, runs programs itself).
int OpenDocumentMain(int argc, char** argv) {
  if (argc != 2) return Usage("Usage: airlock open FILE\n", "open: one document");
  AppOptions o;
  o.file = argv[1];
  std::string app;
  auto command = UsualApplication(o.file, &app);
  if (!command) return std::fprintf(stderr, "airlock open: %s\n", command.error().What().c_str()), 2;
  o.command = std::move(*command);
  std::fprintf(stderr, "airlock open: %s opens in %s inside a disposable sandbox (no network; nothing of your home but this file, read-only)\n",
               Utf8Text(o.file).c_str(), Utf8Text(app).c_str());
  return RunApp(o);
}

int DesktopMain(int argc, char** argv) {
  std::string action, dir = DefaultApplicationsDir();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") return std::fputs(kDesktopUsage, stdout), 0;
    if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (action.empty() && (a == "install" || a == "uninstall")) action = a;
    else return Usage(kDesktopUsage, "desktop: unknown option or extra argument '" + Utf8Text(a) + "'");
  }
  if (action.empty()) return Usage(kDesktopUsage, "desktop: expected install or uninstall");
  Status done = action == "install" ? InstallDesktopEntries(dir, FindHelper("airlock")) : UninstallDesktopEntries(dir);
  if (!done) return std::fprintf(stderr, "airlock desktop: %s\n", done.error().What().c_str()), 2;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "browser") return BrowserMain(argc - 1, argv + 1);
  if (cmd == "downloads") return DownloadsMain(argc - 1, argv + 1);
  if (cmd == "app") return AppMain(argc - 1, argv + 1);
  if (cmd == "open") return OpenDocumentMain(argc - 1, argv + 1);
  if (cmd == "desktop") return DesktopMain(argc - 1, argv + 1);
  std::fputs("airlock-browser: expected `browser`, `downloads`, `app`, `open` or `desktop` (run it as `airlock browser` ...)\n", stderr);
  return 121;
}
