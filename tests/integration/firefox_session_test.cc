// `airlock browser --browser firefox` end to end (docs/BROWSER.md): Debian's Firefox ESR under a real
// Xvfb the test starts, inside airlock's `browser` sandbox, driven over Marionette by airlock-browser
// (reached in the sandbox's own network namespace). Pages come from an HTTP server the test runs on
// the host's own non-loopback address, reached through the default user-mode network with that one
// address allowed (`--net host` is refused for Firefox: Marionette would listen on the host's
// loopback). Few sessions on purpose (each starts a browser).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "keepassxc_fixture.h"
#include "page_server.h"
#include "test_env.h"
#include "xvfb.h"

using namespace airlock::test;
using nlohmann::json;

namespace {

class FirefoxSession : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/firefox-esr", X_OK) != 0) GTEST_SKIP() << "SKIPPED: Debian package firefox-esr is not installed";
    if (access("/usr/bin/Xvfb", X_OK) != 0) GTEST_SKIP() << "SKIPPED: Debian package xvfb is not installed";
    if (std::string why = UserNetSkipReason(); !why.empty()) GTEST_SKIP() << why;
    address_ = HostAddress();
    if (address_.empty()) GTEST_SKIP() << "SKIPPED: this host has no non-loopback IPv4 address for the test's page server";
    home_ = MakeTempDir("firefox-home");
  }
  void TearDown() override {
    std::error_code ec;
    if (!home_.empty()) std::filesystem::remove_all(home_, ec);
  }

  // airlock browser --browser firefox with the test's display, home, quarantine and Downloads; the
  // page server's address and port are the one destination allowed.
  RunResult Browser(const std::string& display, const HttpServer& http, std::vector<std::string> args) {
    return Browser(display, http.HostPort(), std::move(args));
  }
  RunResult Browser(const std::string& display, const std::string& allow, std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/env", "-u", "WAYLAND_DISPLAY", "DISPLAY=" + display, "HOME=" + home_,
                                     "AIRLOCK_BOX_STORE=" + home_ + "/boxes", AirlockBin(), "browser", "--browser", "firefox",
                                     "--net-allow", allow, "--quarantine", home_ + "/q", "--downloads", home_ + "/Downloads",
                                     "--timeout", "150"};
    argv.insert(argv.end(), args.begin(), args.end());
    return airlock::test::Run(argv, "", 240);
  }
  RunResult Downloads(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/env", "HOME=" + home_, AirlockBin(), "downloads", "--quarantine", home_ + "/q",
                                     "--downloads", home_ + "/Downloads"};
    argv.insert(argv.end(), args.begin(), args.end());
    return airlock::test::Run(argv, "", 60);
  }
  std::string home_, address_;
};

}  // namespace

// A page loads over the user-mode network, a screenshot is far from blank, and from /proc Firefox's
// content processes run in Firefox's own sandbox inside airlock's: Seccomp 2 with a filter of their
// own, their own user and network namespaces. The page cannot read the user's home (a canary there is
// "not found").
TEST_F(FirefoxSession, PageLoadsAndContentProcessesKeepTheirOwnSandbox) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty()) << "Xvfb did not start";
  HttpServer http({{"/page.html", {"text/html", RichPage()}}}, address_);
  const std::string shot = home_ + "/shot.png", report = home_ + "/report.json";
  RunResult r = Browser(x.display(), http, {"--check", "--json", "--screenshot", shot, "--report", report, http.Url("/page.html")});
  json facts = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(facts.is_object()) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(facts["ok"].get<bool>()) << r.out;
  int renderers = 0;
  for (const auto& p : facts["processes"]) {
    if (p["type"] != "renderer") continue;
    ++renderers;
    EXPECT_EQ(p["seccomp"], 2) << p.dump();
    EXPECT_TRUE(p["own_seccomp_filter"].get<bool>()) << p.dump();
    EXPECT_TRUE(p["own_user_namespace"].get<bool>()) << p.dump();
    EXPECT_TRUE(p["own_net_namespace"].get<bool>()) << p.dump();
  }
  EXPECT_GE(renderers, 1) << r.out;
  json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
  ASSERT_TRUE(rep.is_object()) << r.err;
  EXPECT_EQ(rep.value("browser", ""), "firefox");
  EXPECT_TRUE(rep["loaded"].get<bool>()) << rep.dump();
  EXPECT_NE(rep["text"].get<std::string>().find("airlock-page-ok"), std::string::npos) << rep.dump();
  RunResult valid = airlock::test::ValidateJsonSchema("browser.schema.json", {report});
  EXPECT_EQ(valid.exit_code, 0) << valid.err;
  const std::string png = ReadFileOrEmpty(shot);
  ASSERT_GT(png.size(), 8u) << r.err;
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_GT(png.size(), 20000u) << "the screenshot looks blank";
  EXPECT_NE(r.err.find("WEAKENED: the display is the host's X11 server"), std::string::npos) << r.err;

  const std::string canary = home_ + "/canary.txt";
  WriteFile(canary, "airlock-canary-4f1e9b", 0644);
  RunResult home = Browser(x.display(), http, {"--until-settled", "--report", report, "file://" + canary});
  rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
  ASSERT_TRUE(rep.is_object()) << home.err;
  EXPECT_TRUE(rep["loaded"].get<bool>()) << rep.dump();
  EXPECT_EQ(rep["text"].get<std::string>().find("airlock-canary-4f1e9b"), std::string::npos) << rep.dump();
}

// A clean PDF is released at once with its origin and verdict; an HTML-smuggled zip stays held with
// T1027.006, marked as built by a script, until `airlock downloads release`.
TEST_F(FirefoxSession, DownloadsAreHeldJudgedAndReleased) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  HttpServer http({{"/doc.pdf", {"application/pdf", kPdf}}, {"/smuggle.html", {"text/html", kSmuggling}}, {"/smuggle.svg", {"image/svg+xml", kSvgSmuggling}}}, address_);
  RunResult pdf = Browser(x.display(), http, {"--until-settled", http.Url("/doc.pdf")});
  const std::string released = home_ + "/Downloads/report.pdf";
  ASSERT_EQ(ReadFileOrEmpty(released), kPdf) << pdf.err;
  EXPECT_NE(pdf.err.find("is clean: released to"), std::string::npos) << pdf.err;
  RunResult attrs = airlock::test::Run({"/usr/bin/python3", "-c",
                         "import os,sys;p=sys.argv[1];print(os.getxattr(p,'user.airlock.origin').decode());"
                         "print(os.getxattr(p,'user.airlock.verdict').decode())",
                         released});
  EXPECT_NE(attrs.out.find(http.Url("/doc.pdf")), std::string::npos) << attrs.out << attrs.err;
  EXPECT_NE(attrs.out.find("clean sha256:"), std::string::npos) << attrs.out;

  RunResult smuggled = Browser(x.display(), http, {"--until-settled", http.Url("/smuggle.html")});
  EXPECT_FALSE(std::filesystem::exists(home_ + "/Downloads/invoice.zip")) << smuggled.err;
  RunResult list = Downloads({"list", "--json"});
  json listed = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(listed.is_object() && listed["downloads"].is_array()) << list.out << list.err;
  std::string held_id;
  for (const json& d : listed["downloads"]) {
    if (d["name"] != "invoice.zip") continue;
    held_id = d["id"];
    EXPECT_EQ(d["state"], "held") << d.dump();
    EXPECT_TRUE(d["scripted"].get<bool>()) << d.dump();
    EXPECT_TRUE(d["url"].get<std::string>().starts_with("blob:")) << d.dump();
    EXPECT_NE(d["techniques"].dump().find("T1027.006"), std::string::npos) << d.dump();
  }
  ASSERT_FALSE(held_id.empty()) << list.out << smuggled.err;
  EXPECT_EQ(Downloads({"release", held_id}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(home_ + "/Downloads/invoice.zip"));
  // SVG smuggling: the script an SVG image builds stays held, named T1027.017 (the page was an SVG).
  RunResult svg = Browser(x.display(), http, {"--until-settled", http.Url("/smuggle.svg")});
  ExpectSvgScriptHeld(home_ + "/Downloads", Downloads({"list", "--json"}).out, svg.err);
}

// A download that grows past --max-download is cancelled in Firefox, its partial data removed, and
// nothing of it kept (24 MiB arriving at about 6 MB/s, so that a poll sees it pass 4 MiB; one that
// finished between two polls would be refused at admission, with the same message); the control, a
// cap above its size, takes the same file.
TEST_F(FirefoxSession, ADownloadPastTheSizeCapIsCancelledAndNothingKept) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  std::string big(24u << 20, 'A');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i / 4096 % 26);
  HttpServer http({{"/big.bin", {"application/octet-stream", big}}, {"/slow.bin", {kTrickles, big}}}, address_);
  const std::string report = home_ + "/report.json";
  RunResult r = Browser(x.display(), http, {"--until-settled", "--max-download", "4m", "--report", report, http.Url("/slow.bin")});
  json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
  ASSERT_TRUE(rep.is_object()) << r.err;
  EXPECT_NE(r.err.find("passed the size cap"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("finished ("), std::string::npos) << "a cancelled download was admitted: " << r.err;
  EXPECT_NE(rep["dropped"].dump().find("passed the size cap"), std::string::npos) << rep.dump();
  json listed = json::parse(Downloads({"list", "--json"}).out, nullptr, false);
  ASSERT_TRUE(listed.is_object());
  EXPECT_TRUE(listed["downloads"].empty()) << listed.dump();
  RunResult control = Browser(x.display(), http, {"--until-settled", "--max-download", "64m", http.Url("/big.bin")});
  EXPECT_EQ(control.err.find("passed the size cap"), std::string::npos) << control.err;
  EXPECT_NE(control.err.find("finished (25165824 bytes)"), std::string::npos) << control.err;
}

// Wayland is preferred over X11 (both set) and nothing is reported weakened: Firefox draws the page
// on a private headless weston.
TEST_F(FirefoxSession, WaylandIsPreferredAndNoWeakening) {
  if (access("/usr/bin/weston", X_OK) != 0) GTEST_SKIP() << "SKIPPED: Debian package weston is not installed";
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  HeadlessWeston weston(home_ + "/weston.log");
  ASSERT_TRUE(weston.ok()) << ReadFileOrEmpty(home_ + "/weston.log");
  const std::string report = home_ + "/report.json", shot = home_ + "/shot.png";
  RunResult r = airlock::test::Run({"/usr/bin/env", "WAYLAND_DISPLAY=wayland-7", "XDG_RUNTIME_DIR=" + weston.runtime(), "DISPLAY=" + x.display(),
                                    "HOME=" + home_, AirlockBin(), "browser", "--browser", "firefox", "--net", "none", "--quarantine",
                                    home_ + "/q", "--downloads", home_ + "/Downloads", "--timeout", "150", "--until-settled", "--screenshot",
                                    shot, "--report", report, "data:text/html,<body style='background:%23c33'><h1>airlock-on-wayland</h1></body>"},
                                   "", 240);
  json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
  ASSERT_TRUE(rep.is_object()) << r.err << ReadFileOrEmpty(home_ + "/weston.log");
  EXPECT_EQ(rep["display"], "wayland") << rep.dump();
  EXPECT_TRUE(rep["weakenings"].empty()) << rep.dump();
  EXPECT_NE(rep["text"].get<std::string>().find("airlock-on-wayland"), std::string::npos) << rep.dump();
  EXPECT_EQ(ReadFileOrEmpty(shot).substr(1, 3), "PNG") << r.err;
  EXPECT_EQ(r.err.find("WEAKENED"), std::string::npos) << r.err;
}

// --net host is refused for Firefox, saying why and what to use; nothing is started.
TEST_F(FirefoxSession, HostNetworkIsRefusedSayingWhy) {
  RunResult r = airlock::test::Run({"/usr/bin/env", "HOME=" + home_, AirlockBin(), "browser", "--browser", "firefox", "--net", "host",
                                    "--headless", "--quarantine", home_ + "/q", "about:blank"}, "", 60);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("cannot share the host network"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Marionette"), std::string::npos) << r.err;
}

// --keepassxc: Debian's KeePassXC-Browser extension (webext-keepassxc-browser, a system add-on Firefox
// ESR enables) starts keepassxc-proxy inside the sandbox through the manifest airlock binds in, and
// the proxy reaches the KeePassXC the test runs outside: the sandbox's network namespace holds a
// connection to KeePassXC's listening socket. The control, without the flag, starts no proxy
// (Firefox finds no manifest; there is no socket). As root the flag is refused, saying why.
TEST_F(FirefoxSession, KeePassXcIsReachedOnlyWhenAllowed) {
  for (const char* p : kKeePassXcBrowserPaths) {
    if (access(p, R_OK) != 0) GTEST_SKIP() << "SKIPPED: " << p << " missing (Debian packages keepassxc, webext-keepassxc-browser)";
  }
  const std::string extension_id = "keepassxc-browser@keepassxc.org";
  auto browser = [&](const std::string& runtime, std::vector<std::string> extra) {
    std::vector<std::string> argv = {"/usr/bin/env", "HOME=" + home_, "XDG_RUNTIME_DIR=" + runtime, AirlockBin(), "browser", "--browser", "firefox",
                                     "--headless", "--net", "none", "--quarantine", home_ + "/q", "--downloads", home_ + "/Downloads"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("about:blank");
    return argv;
  };
  if (IsRoot()) {
    RunResult r = airlock::test::Run(browser(home_, {"--keepassxc", "--timeout", "20"}), "", 60);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--keepassxc: as root"), std::string::npos) << r.err;
    return;
  }
  KeePassXc kx(home_ + "/kx");
  ASSERT_TRUE(kx.Ready()) << ReadFileOrEmpty(home_ + "/kx/keepassxc.log");
  const std::string log = home_ + "/browser.log";
  pid_t b = SpawnLogged(browser(kx.runtime(), {"--keepassxc", "--timeout", "60"}), log);
  pid_t proxy = 0;
  std::string proxy_cmdline;
  bool connected = false;
  for (int i = 0; i < 600 && !connected; ++i, ::usleep(100000)) {
    if (pid_t p = ProcessWithArg(extension_id); p > 0) {
      proxy = p;
      proxy_cmdline = ReadFileOrEmpty("/proc/" + std::to_string(p) + "/cmdline");
      connected = kx.ConnectedFrom(p);
    }
  }
  EXPECT_GT(proxy, 0) << "Firefox started no keepassxc-proxy\n" << ReadFileOrEmpty(log) << ReadFileOrEmpty(home_ + "/q/browser.log");
  EXPECT_TRUE(connected) << "the proxy did not reach KeePassXC\n" << ReadFileOrEmpty(log);
  EXPECT_TRUE(proxy_cmdline.starts_with("/usr/bin/keepassxc-proxy")) << proxy_cmdline;
  ::kill(b, SIGTERM);
  int status = 0;
  ::waitpid(b, &status, 0);
  EXPECT_NE(ReadFileOrEmpty(log).find("WEAKENED: --keepassxc"), std::string::npos) << ReadFileOrEmpty(log);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(home_ + "/q", ec)) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".keepassxc-")) << e.path() << ": the manifest is removed at exit";
  }

  // The control: the same session without the flag. The extension runs, and no proxy ever starts.
  pid_t c = SpawnLogged(browser(kx.runtime(), {"--timeout", "12"}), log);
  bool seen = false;
  for (int i = 0; i < 300; ++i, ::usleep(100000)) {
    seen = seen || ProcessWithArg(extension_id) > 0;
    if (::waitpid(c, &status, WNOHANG) == c) break;
  }
  EXPECT_FALSE(seen) << "a proxy started without --keepassxc";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadFileOrEmpty(log);
}

// Firefox's files saved in its download folder by other means than a download (its "Save to PDF",
// "Save Page As") are held and judged at the end like Chromium's (page_server.h ExpectSavedFilesJudged).
TEST_F(FirefoxSession, FilesTheBrowserSavesInItsDownloadFolderAreJudgedToo) {
  ExpectSavedFilesJudged(home_, {"--browser", "firefox", "--headless", "--net", "none"});
}

// --uploads with Firefox: a file in the chosen folder is readable at ~/Uploads inside; without the
// flag (the control) it is not there.
TEST_F(FirefoxSession, UploadsComeFromTheChosenFolderOnly) {
  const std::string uploads = home_ + "/to-upload", report = home_ + "/report.json";
  std::filesystem::create_directories(uploads);
  WriteFile(uploads + "/cv.txt", "airlock-upload-7c2d", 0644);
  auto text_of = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--headless", "--until-settled", "--report", report, "file:///home/sandbox/Uploads/cv.txt"});
    RunResult r = Browser("", "127.0.0.1:9", args);
    json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
    return rep.is_object() ? rep.value("text", "") : "(no report) " + r.err;
  };
  EXPECT_NE(text_of({"--uploads", uploads}).find("airlock-upload-7c2d"), std::string::npos);
  EXPECT_EQ(text_of({}).find("airlock-upload-7c2d"), std::string::npos) << "control: without --uploads the folder is not there";
}

// --box with Firefox: a page's localStorage set in one session is read back in the next in the same
// box; a disposable browser (the control) reads nothing; the profile is in the box, not in the user's
// home, and the box's lower directory is unchanged.
TEST_F(FirefoxSession, ABoxKeepsTheProfileAndTheHostNothing) {
  HttpServer http(StoragePages(), address_);
  const std::string report = home_ + "/report.json";
  auto text_of = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--headless", "--until-settled", "--report", report});
    RunResult r = Browser("", http, args);
    json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
    return rep.is_object() ? rep.value("text", "") + " [exit " + std::to_string(r.exit_code) + "]" : "(no report) " + r.err;
  };
  ExpectBoxKeepsStorage(text_of, http, home_, ".mozilla");
}
