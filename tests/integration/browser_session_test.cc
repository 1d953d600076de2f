// `airlock browser` and `airlock downloads` end to end (docs/BROWSER.md, "Browsing in airlock"): real
// Chromium under a real Xvfb the test starts, driven over DevTools by airlock-browser, pages from a
// loopback HTTP server the test runs. Few sessions on purpose (each starts a browser).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "keepassxc_fixture.h"
#include "page_server.h"
#include "test_env.h"
#include "xvfb.h"

using namespace airlock::test;
using nlohmann::json;

namespace {

class BrowserSession : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "SKIPPED: Debian package chromium is not installed";
    if (access("/usr/bin/Xvfb", X_OK) != 0) GTEST_SKIP() << "SKIPPED: Debian package xvfb is not installed";
    home_ = MakeTempDir("browser-home");
  }
  void TearDown() override {
    std::error_code ec;
    if (!home_.empty()) std::filesystem::remove_all(home_, ec);
  }

  // airlock browser with the test's display, home, quarantine and Downloads; --net host reaches the
  // test's loopback server (user-mode networking would not).
  // Boxes go to a store of the test's own (AIRLOCK_BOX_STORE), never the user's.
  RunResult Browser(const std::string& display, std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/env", "-u", "WAYLAND_DISPLAY", "DISPLAY=" + display, "HOME=" + home_,
                                     "AIRLOCK_BOX_STORE=" + home_ + "/boxes", AirlockBin(), "browser", "--net", "host", "--quarantine", home_ + "/q", "--downloads", home_ + "/Downloads",
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
  std::string home_;
};

}  // namespace

// A page loads, a screenshot is far from blank, and from /proc the renderers run in Chromium's own
// sandbox inside airlock's: Seccomp 2 with a filter of their own, own user and pid namespaces.
TEST_F(BrowserSession, PageLoadsAndRenderersKeepTheirOwnSandbox) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty()) << "Xvfb did not start";
  HttpServer http({{"/page.html", {"text/html", RichPage()}}});
  const std::string shot = home_ + "/shot.png", report = home_ + "/report.json";
  RunResult r = Browser(x.display(), {"--check", "--json", "--screenshot", shot, "--report", report, http.Url("/page.html")});
  json facts = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(facts.is_object()) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(facts["ok"].get<bool>()) << r.out;
  int renderers = 0;
  for (const auto& p : facts["processes"]) {
    if (p["type"] != "renderer") continue;
    ++renderers;
    EXPECT_EQ(p["seccomp"], 2) << p.dump();
    EXPECT_TRUE(p["own_user_namespace"].get<bool>()) << p.dump();
    EXPECT_TRUE(p["own_pid_namespace"].get<bool>()) << p.dump();
  }
  EXPECT_GE(renderers, 1) << r.out;
  json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
  ASSERT_TRUE(rep.is_object()) << r.err;
  EXPECT_NE(rep["text"].get<std::string>().find("airlock-page-ok"), std::string::npos) << rep.dump();
  // The one report envelope (docs/REPORT.md).
  EXPECT_EQ(rep.value("tool", ""), "airlock") << rep.dump();
  EXPECT_EQ(rep.value("command", ""), "browser") << rep.dump();
  EXPECT_TRUE(rep["duration"].is_number() && rep["started"].is_string()) << rep.dump();
  RunResult valid = airlock::test::ValidateJsonSchema("browser.schema.json", {report});
  EXPECT_EQ(valid.exit_code, 0) << valid.err;
  const std::string png = ReadFileOrEmpty(shot);
  ASSERT_GT(png.size(), 8u) << r.err;
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_GT(png.size(), 20000u) << "the screenshot looks blank";  // a blank 1024x768 page is a few KB
  EXPECT_NE(r.err.find("WEAKENED: the display is the host's X11 server"), std::string::npos) << r.err;
}

// The page cannot read the user's home: file:// of a canary there shows Chromium's "not found".
TEST_F(BrowserSession, TheUsersHomeIsNotVisible) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  const std::string canary = home_ + "/canary.txt";
  WriteFile(canary, "airlock-canary-4f1e9b", 0644);
  const std::string report = home_ + "/report.json";
  RunResult r = Browser(x.display(), {"--until-settled", "--report", report, "file://" + canary});
  json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
  ASSERT_TRUE(rep.is_object()) << r.err;
  EXPECT_TRUE(rep["loaded"].get<bool>()) << rep.dump();
  EXPECT_EQ(rep["text"].get<std::string>().find("airlock-canary-4f1e9b"), std::string::npos) << rep.dump();
}

// A clean PDF is released at once with its origin and verdict; an HTML-smuggled zip stays held with
// T1027.006 until `airlock downloads release`; delete removes an entry.
TEST_F(BrowserSession, DownloadsAreHeldJudgedAndReleased) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  HttpServer http({{"/doc.pdf", {"application/pdf", kPdf}}, {"/smuggle.html", {"text/html", kSmuggling}}, {"/smuggle.svg", {"image/svg+xml", kSvgSmuggling}}});
  RunResult pdf = Browser(x.display(), {"--until-settled", http.Url("/doc.pdf")});
  const std::string released = home_ + "/Downloads/report.pdf";
  ASSERT_EQ(ReadFileOrEmpty(released), kPdf) << pdf.err;
  EXPECT_NE(pdf.err.find("is clean: released to"), std::string::npos) << pdf.err;
  RunResult attrs = airlock::test::Run({"/usr/bin/python3", "-c",
                         "import os,sys;p=sys.argv[1];print(os.getxattr(p,'user.airlock.origin').decode());"
                         "print(os.getxattr(p,'user.airlock.verdict').decode())",
                         released});
  EXPECT_NE(attrs.out.find(http.Url("/doc.pdf")), std::string::npos) << attrs.out << attrs.err;
  EXPECT_NE(attrs.out.find("clean sha256:"), std::string::npos) << attrs.out;

  RunResult smuggled = Browser(x.display(), {"--until-settled", http.Url("/smuggle.html")});
  EXPECT_FALSE(std::filesystem::exists(home_ + "/Downloads/invoice.zip")) << smuggled.err;
  RunResult list = Downloads({"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  WriteFile(home_ + "/list.json", list.out, 0644);
  RunResult valid = airlock::test::ValidateJsonSchema("downloads.schema.json", {home_ + "/list.json"});
  EXPECT_EQ(valid.exit_code, 0) << valid.err << list.out;
  json listed = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(listed.is_object() && listed["downloads"].is_array()) << list.out;
  EXPECT_EQ(listed["command"], "downloads list");
  std::string held_id, pdf_id;
  for (const json& d : listed["downloads"]) {
    if (d["name"] == "invoice.zip") {
      held_id = d["id"];
      EXPECT_EQ(d["state"], "held") << d.dump();
      EXPECT_EQ(d["verdict"], "suspicious") << d.dump();
      EXPECT_EQ(d["hashes"]["sha256"].get<std::string>().size(), 64u) << d.dump();
      EXPECT_TRUE(d["scripted"].get<bool>()) << d.dump();
      EXPECT_TRUE(d["url"].get<std::string>().starts_with("blob:")) << d.dump();
      EXPECT_NE(d["techniques"].dump().find("T1027.006"), std::string::npos) << d.dump();
    }
    if (d["name"] == "report.pdf") pdf_id = d["id"];
  }
  ASSERT_FALSE(held_id.empty()) << list.out << smuggled.err;
  ASSERT_FALSE(pdf_id.empty()) << list.out;
  RunResult release = Downloads({"release", held_id});
  EXPECT_EQ(release.exit_code, 0) << release.err;
  EXPECT_TRUE(std::filesystem::exists(home_ + "/Downloads/invoice.zip"));
  EXPECT_NE(Downloads({"release", held_id}).exit_code, 0);  // once
  EXPECT_EQ(Downloads({"delete", pdf_id}).exit_code, 0);
  EXPECT_NE(Downloads({"delete", "../" + pdf_id}).exit_code, 0);
  EXPECT_EQ(Downloads({"list", "--json"}).out.find(pdf_id), std::string::npos);
  // SVG smuggling: the script an SVG image builds stays held, named T1027.017 (the page was an SVG).
  RunResult svg = Browser(x.display(), {"--until-settled", http.Url("/smuggle.svg")});
  ExpectSvgScriptHeld(home_ + "/Downloads", Downloads({"list", "--json"}).out, svg.err);
}

// A runnable download is detonated before it is released: a script that static triage calls clean but
// that makes a setuid copy of a shell when run (tests/samples/analyze/setuid_copy.sh, T1548.001) stays
// in quarantine as malicious; a benign script (the control: detonation does not hold everything) is
// released.
TEST_F(BrowserSession, ARunnableDownloadIsDetonatedBeforeRelease) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  const std::string samples = airlock::test::SourceDir() + "/tests/samples/analyze/";
  HttpServer http({{"/setup.sh", {"application/x-sh", ReadFileOrEmpty(samples + "setuid_copy.sh")}},
                   {"/info.sh", {"application/x-sh", ReadFileOrEmpty(samples + "benign_sysinfo.sh")}}});
  RunResult bad = Browser(x.display(), {"--until-settled", http.Url("/setup.sh")});
  EXPECT_NE(bad.err.find("detonating it"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(home_ + "/Downloads/setup.sh")) << bad.err;
  RunResult good = Browser(x.display(), {"--until-settled", http.Url("/info.sh")});
  EXPECT_EQ(ReadFileOrEmpty(home_ + "/Downloads/info.sh"), ReadFileOrEmpty(samples + "benign_sysinfo.sh")) << good.err;
  json listed = json::parse(Downloads({"list", "--json"}).out, nullptr, false);
  ASSERT_TRUE(listed.is_object()) << bad.err;
  bool seen = false;
  for (const json& d : listed["downloads"]) {
    if (d["name"] != "setup.sh") continue;
    seen = true;
    EXPECT_EQ(d["verdict"], "malicious") << d.dump();
    EXPECT_EQ(d["state"], "malicious") << d.dump();
    EXPECT_NE(d["techniques"].dump().find("T1548.001"), std::string::npos) << d.dump();
    EXPECT_NE(d["why"].get<std::string>().find("airlock analyze: malicious"), std::string::npos) << d.dump();
  }
  EXPECT_TRUE(seen) << listed.dump();
}

// A browser in a box keeps its profile there: what a page stored in the first session (localStorage)
// is read back in the second; the box's changes hold Chromium's profile, and none of it is on the host
// (the box's home starts empty; the user's home gets no Chromium profile). The control is a
// disposable browser: the same page reads nothing back.
TEST_F(BrowserSession, ABoxKeepsTheProfileAndTheHostNothing) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  HttpServer http(StoragePages());
  const std::string report = home_ + "/report.json";
  auto text_of = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--until-settled", "--report", report});
    RunResult r = Browser(x.display(), args);
    json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
    return rep.is_object() ? rep.value("text", "") + " [exit " + std::to_string(r.exit_code) + "]" : "(no report) " + r.err;
  };
  ExpectBoxKeepsStorage(text_of, http, home_, ".config/chromium");
}

// Bad input: no display, no browser: a clear message, nothing started.
// A download that grows past --max-download is cancelled while it runs and nothing of it is kept:
// not released, not held, no partial file; the report says why. The control, a cap above its size,
// takes the same file (held and judged as usual).
TEST_F(BrowserSession, ADownloadPastTheSizeCapIsCancelledAndNothingKept) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  std::string big(24u << 20, 'A');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i / 4096 % 26);
  HttpServer http({{"/big.bin", {"application/octet-stream", big}}});
  const std::string report = home_ + "/report.json";
  RunResult r = Browser(x.display(), {"--until-settled", "--max-download", "4m", "--report", report, http.Url("/big.bin")});
  EXPECT_NE(r.err.find("passed the size cap"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("finished ("), std::string::npos) << "a cancelled download was admitted: " << r.err;
  json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
  ASSERT_TRUE(rep.is_object()) << r.err;
  EXPECT_NE(rep["dropped"].dump().find("passed the size cap"), std::string::npos) << rep.dump();
  RunResult list = Downloads({"list", "--json"});
  json listed = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(listed.is_object()) << list.out << list.err;
  EXPECT_TRUE(listed["downloads"].empty()) << list.out;
  std::error_code ec;
  EXPECT_TRUE(!std::filesystem::exists(home_ + "/Downloads", ec) || std::filesystem::is_empty(home_ + "/Downloads", ec));
  RunResult control = Browser(x.display(), {"--until-settled", "--max-download", "64m", http.Url("/big.bin")});
  EXPECT_EQ(control.err.find("passed the size cap"), std::string::npos) << control.err;
  EXPECT_NE(control.err.find("finished (25165824 bytes)"), std::string::npos) << control.err;
}

// --uploads DIR is the one folder of the host a page can take files from: a file in it is readable
// in the browser at ~/Uploads, read-only; without the flag (the control) the same path is not there.
TEST_F(BrowserSession, UploadsComeFromTheChosenFolderOnly) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  const std::string uploads = home_ + "/to-upload";
  std::filesystem::create_directories(uploads);
  WriteFile(uploads + "/cv.txt", "airlock-upload-7c2d", 0644);
  const std::string report = home_ + "/report.json";
  RunResult r = Browser(x.display(), {"--until-settled", "--uploads", uploads, "--report", report, "file:///home/sandbox/Uploads/cv.txt"});
  json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
  ASSERT_TRUE(rep.is_object()) << r.err;
  EXPECT_NE(rep["text"].get<std::string>().find("airlock-upload-7c2d"), std::string::npos) << rep.dump() << r.err;
  RunResult control = Browser(x.display(), {"--until-settled", "--report", report, "file:///home/sandbox/Uploads/cv.txt"});
  json crep = json::parse(ReadFileOrEmpty(report), nullptr, false);
  ASSERT_TRUE(crep.is_object()) << control.err;
  EXPECT_EQ(crep["text"].get<std::string>().find("airlock-upload-7c2d"), std::string::npos) << crep.dump();
  RunResult bad = Browser(x.display(), {"--uploads", home_ + "/missing", "about:blank"});
  EXPECT_EQ(bad.exit_code, 121) << bad.err;
}

// --box-per-site: a URL opens in the box that owns its site. Two sites (127.0.0.1 and localhost, one
// server) get two boxes; the first keeps its storage for its next session.
TEST_F(BrowserSession, EachSiteGetsABoxOfItsOwn) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  HttpServer http({{"/set.html", {"text/html", "<p>set</p><script>localStorage.setItem('airlock', 'site-kept')</script>"}},
                   {"/get.html", {"text/html", "<p id=v>?</p><script>document.getElementById('v').textContent = "
                                               "'value:' + localStorage.getItem('airlock')</script>"}}});
  const std::string report = home_ + "/report.json";
  auto text_of = [&](const std::string& url) {
    RunResult r = Browser(x.display(), {"--box-per-site", "--until-settled", "--report", report, url});
    json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
    return rep.is_object() ? rep.value("text", "") : "(no report) " + r.err;
  };
  const std::string local = "http://localhost:" + http.Url("/").substr(http.Url("/").rfind(':') + 1);
  EXPECT_NE(text_of(http.Url("/set.html")).find("set"), std::string::npos);
  EXPECT_NE(text_of(http.Url("/get.html")).find("value:site-kept"), std::string::npos) << "the site's box kept its storage";
  EXPECT_NE(text_of(local + "get.html").find("value:null"), std::string::npos) << "another site, another box";
  RunResult list = airlock::test::Run({"/usr/bin/env", "AIRLOCK_BOX_STORE=" + home_ + "/boxes", AirlockBin(), "box", "list"});
  EXPECT_NE(list.out.find("site-127.0.0.1"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("site-localhost"), std::string::npos) << list.out;
  RunResult bad = Browser(x.display(), {"--box-per-site", "file:///etc/hostname"});
  EXPECT_EQ(bad.exit_code, 121) << bad.err;
}

// Wayland is preferred to X11 and is no weakening: under a headless weston (run as the sandbox's
// outside user: 65534 for root's sandboxes, the caller otherwise), with an Xvfb display also set, the
// browser runs on Wayland (--ozone-platform=wayland), loads and draws the page, and reports no
// weakening; `airlock app` gives a Wayland client the compositor too.
TEST_F(BrowserSession, WaylandIsPreferredAndNoWeakening) {
  if (access("/usr/bin/weston", X_OK) != 0 || access("/usr/bin/weston-info", X_OK) != 0) {
    GTEST_SKIP() << "SKIPPED: Debian package weston is not installed";
  }
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  HeadlessWeston weston(home_ + "/weston.log");
  ASSERT_TRUE(weston.ok()) << ReadFileOrEmpty(home_ + "/weston.log");
  const std::string& runtime = weston.runtime();
  const std::string report = home_ + "/report.json", shot = home_ + "/shot.png";
  RunResult r = airlock::test::Run({"/usr/bin/env", "WAYLAND_DISPLAY=wayland-7", "XDG_RUNTIME_DIR=" + runtime, "DISPLAY=" + x.display(),
                                    "HOME=" + home_, AirlockBin(), "browser", "--net", "host", "--quarantine", home_ + "/q", "--downloads",
                                    home_ + "/Downloads", "--timeout", "150", "--until-settled", "--screenshot", shot, "--report", report,
                                    "data:text/html,<body style='background:%23c33'><h1>airlock-on-wayland</h1></body>"},
                                   "", 240);
  RunResult app = airlock::test::Run({"/usr/bin/env", "-u", "DISPLAY", "WAYLAND_DISPLAY=wayland-7", "XDG_RUNTIME_DIR=" + runtime, "HOME=" + home_,
                                      AirlockBin(), "app", "--", "weston-info"}, "", 60);
  json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
  ASSERT_TRUE(rep.is_object()) << r.err << ReadFileOrEmpty(home_ + "/weston.log");
  EXPECT_EQ(rep["display"], "wayland") << rep.dump();
  EXPECT_TRUE(rep["weakenings"].empty()) << rep.dump();
  EXPECT_NE(rep["text"].get<std::string>().find("airlock-on-wayland"), std::string::npos) << rep.dump();
  EXPECT_EQ(ReadFileOrEmpty(shot).substr(1, 3), "PNG") << r.err;
  EXPECT_EQ(r.err.find("WEAKENED"), std::string::npos) << r.err;
  EXPECT_EQ(app.exit_code, 0) << app.err;
  EXPECT_NE(app.out.find("interface: 'wl_compositor'"), std::string::npos) << app.out << app.err;
  EXPECT_EQ(app.err.find("WEAKENED"), std::string::npos) << app.err;
}

namespace {

// A red page that shares the screen at once (getDisplayMedia; --auto-select-desktop-capture-source
// stands for the user's choice in Chromium's picker) and writes what it got: the frame's size and how
// many of its pixels are the page's red, or the error.
const char* kSharePage =
    "<html><body style=\"background:#c33\"><p id=\"r\">share-pending</p><script>\n"
    "(async () => {\n"
    "  const out = document.getElementById('r');\n"
    "  try {\n"
    "    const s = await navigator.mediaDevices.getDisplayMedia({video: true});\n"
    "    const v = document.createElement('video'); v.srcObject = s; v.muted = true; await v.play();\n"
    "    await new Promise(r => setTimeout(r, 700));\n"
    "    const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;\n"
    "    const g = c.getContext('2d'); g.drawImage(v, 0, 0);\n"
    "    const d = g.getImageData(0, 0, c.width, c.height).data; let red = 0;\n"
    "    for (let i = 0; i < d.length; i += 4) if (d[i] > 150 && d[i + 1] < 100 && d[i + 2] < 100) red++;\n"
    "    out.textContent = 'share-ok ' + v.videoWidth + 'x' + v.videoHeight + ' red=' + red + ' surface=' + s.getVideoTracks()[0].getSettings().displaySurface;\n"
    "  } catch (e) { out.textContent = 'share-failed ' + e.name + ': ' + e.message; }\n"
    "})();\n"
    "</script></body></html>\n";

}  // namespace

// Screen sharing, Chromium (docs/BROWSER.md "Screen sharing"): on X11 the browser shares the X display
// it is given (X11 gives every client the screen: that display is reported as a weakening), and the
// frames hold the page itself. On Wayland without the desktop portal (no --dbus) there is nothing to
// capture: the same request gets no frame, so a sandboxed browser sees no other window.
TEST_F(BrowserSession, ScreenSharingIsTheX11DisplayAndNothingOnWaylandWithoutThePortal) {
  if (access("/usr/bin/weston", X_OK) != 0) GTEST_SKIP() << "SKIPPED: Debian package weston is not installed";
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  HttpServer http({{"/share.html", {"text/html", kSharePage}}});
  const std::string pick = "--auto-select-desktop-capture-source=Entire screen";
  auto shared_text = [&](const std::vector<std::string>& env) {
    const std::string report = home_ + "/share-report.json";
    std::filesystem::remove(report);
    std::vector<std::string> argv = {"/usr/bin/env"};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.insert(argv.end(), {"HOME=" + home_, AirlockBin(), "browser", "--net", "host", "--quarantine", home_ + "/q", "--downloads",
                             home_ + "/Downloads", "--timeout", "12", "--report", report, "--browser-flag", pick, http.Url("/share.html")});
    RunResult r = airlock::test::Run(argv, "", 120);
    json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
    return rep.is_object() ? rep.value("text", "") : "no report: " + r.err;
  };
  const std::string x11 = shared_text({"-u", "WAYLAND_DISPLAY", "DISPLAY=" + x.display()});
  EXPECT_NE(x11.find("share-ok 1024x768"), std::string::npos) << x11;
  size_t red = 0;
  if (size_t at = x11.find("red="); at != std::string::npos) red = std::stoul(x11.substr(at + 4));
  EXPECT_GT(red, 100000u) << "the shared frames do not show the page: " << x11;

  HeadlessWeston weston(home_ + "/weston.log");
  ASSERT_TRUE(weston.ok()) << ReadFileOrEmpty(home_ + "/weston.log");
  const std::string wayland = shared_text({"-u", "DISPLAY", "WAYLAND_DISPLAY=wayland-7", "XDG_RUNTIME_DIR=" + weston.runtime()});
  // Chromium's request waits for a portal that never answers (share-pending) or fails: either way, no frame.
  EXPECT_TRUE(wayland.find("share-pending") != std::string::npos || wayland.find("share-failed") != std::string::npos) << wayland;
  EXPECT_EQ(wayland.find("share-ok"), std::string::npos) << wayland;
}

// --screen-share on Wayland: the browser's request reaches the desktop's screen-cast portal through
// airlock's D-Bus proxy, and a program reaches PipeWire through the socket bound in. The desktop is the
// test's own (PortalDesktop: headless sway, PipeWire, xdg-desktop-portal-wlr sharing its one output
// without asking). Controls: without the flag the portal gets no request from the same page, and a
// program naming PipeWire's host socket itself reaches nothing. Whether frames then flow is the
// desktop's part: here the wlroots portal cannot capture a software-rendered output (it wants a
// DMA-BUF, which needs a GPU), so the page's share fails after the portal has taken the request.
// As root the flag is refused, saying why.
TEST_F(BrowserSession, ScreenShareReachesThePortalOnlyWhenAsked) {
  if (IsRoot()) {
    RunResult b = Browser(":0", {"--headless", "--screen-share", "about:blank"});
    EXPECT_EQ(b.exit_code, 2) << b.err;
    EXPECT_NE(b.err.find("--screen-share is not offered as root"), std::string::npos) << b.err;
    RunResult a = airlock::test::Run({AirlockBin(), "app", "--headless", "--screen-share", "--", "/bin/true"});
    EXPECT_EQ(a.exit_code, 2) << a.err;
    EXPECT_NE(a.err.find("--screen-share is not offered as root"), std::string::npos) << a.err;
    return;
  }
  for (const char* tool : PortalDesktop::kTools) {
    if (access(tool, X_OK) != 0) GTEST_SKIP() << "SKIPPED: " << tool << " is missing (Debian packages sway, pipewire, xdg-desktop-portal-wlr)";
  }
  PortalDesktop desktop(home_ + "/desktop");
  ASSERT_TRUE(desktop.ok()) << ReadFileOrEmpty(home_ + "/desktop/sway.log") << ReadFileOrEmpty(home_ + "/desktop/xdp.log");
  const std::string host_pipewire = desktop.runtime() + "/pipewire-0";
  RunResult pw = airlock::test::Run(desktop.Env({AirlockBin(), "app", "--headless", "--screen-share", "--", "pw-cli", "info", "0"}), "", 60);
  EXPECT_EQ(pw.exit_code, 0) << pw.out << pw.err;
  EXPECT_NE(pw.out.find("PipeWire:Interface:Core"), std::string::npos) << pw.out << pw.err;
  EXPECT_NE(pw.err.find("WEAKENED: --screen-share"), std::string::npos) << pw.err;
  RunResult pw_control = airlock::test::Run(
      desktop.Env({AirlockBin(), "app", "--headless", "--", "/usr/bin/env", "PIPEWIRE_REMOTE=" + host_pipewire, "pw-cli", "info", "0"}), "", 60);
  EXPECT_EQ(pw_control.out.find("PipeWire:Interface:Core"), std::string::npos) << "without --screen-share PipeWire was reached: " << pw_control.out;

  HttpServer http({{"/share.html", {"text/html", kSharePage}}});
  auto share = [&](bool asked) {
    std::vector<std::string> argv = {AirlockBin(), "browser", "--net", "host", "--quarantine", home_ + "/q", "--downloads", home_ + "/Downloads",
                                     "--timeout", "12", "--report", home_ + "/share.json", "--browser-flag",
                                     "--auto-select-desktop-capture-source=Entire screen", "--browser-flag", "--use-fake-ui-for-media-stream"};
    if (asked) argv.push_back("--screen-share");
    argv.push_back(http.Url("/share.html"));
    RunResult r = airlock::test::Run(desktop.Env(argv), "", 120);
    json rep = json::parse(ReadFileOrEmpty(home_ + "/share.json"), nullptr, false);
    return (rep.is_object() ? rep.value("text", "") : "") + "\n" + r.err;
  };
  const std::string without = share(false);
  EXPECT_NE(without.find("share-"), std::string::npos) << without;
  EXPECT_EQ(desktop.PortalLog().find("select sources"), std::string::npos) << "the portal got a request without --screen-share: " << without;
  const std::string with = share(true);
  EXPECT_NE(with.find("WEAKENED: --screen-share"), std::string::npos) << with;
  EXPECT_NE(desktop.PortalLog().find("select sources"), std::string::npos) << "the portal got no request: " << with << desktop.PortalLog();
}

// A download that never finishes is never released nor held: the session ends at its time limit, the
// partial file goes with the incoming directory, and nothing reaches the quarantine or Downloads.
TEST_F(BrowserSession, ADownloadThatNeverFinishesIsDropped) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  HttpServer http({{"/stalled.pdf", {kNeverEnds, std::string(256 << 10, 'x')}}});
  const std::string report = home_ + "/report.json";
  RunResult r = Browser(x.display(), {"--until-settled", "--timeout", "8", "--report", report, http.Url("/stalled.pdf")});
  EXPECT_NE(r.err.find("time limit"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("finished ("), std::string::npos) << "an unfinished download was admitted: " << r.err;
  RunResult list = Downloads({"list", "--json"});
  json listed = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(listed.is_object()) << list.out << list.err;
  EXPECT_TRUE(listed["downloads"].empty()) << list.out;
  std::error_code ec;
  EXPECT_TRUE(!std::filesystem::exists(home_ + "/Downloads", ec) || std::filesystem::is_empty(home_ + "/Downloads", ec));
  for (const auto& e : std::filesystem::directory_iterator(home_ + "/q", ec)) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".incoming")) << "an incoming directory was left: " << e.path();
  }
}

// Killed while a download is being detonated, the session closes the browser, stops the analysis, keeps
// the download held as unjudged (never released) and leaves nothing running.
TEST_F(BrowserSession, KilledWhileJudgingNothingIsReleasedOrLeftRunning) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty());
  HttpServer http({{"/setup.sh", {"application/x-sh", "#!/bin/sh\necho preparing\nsleep 60\necho done\n"}}});
  const std::string log = home_ + "/browser.err";
  pid_t pid = SpawnLogged({"/usr/bin/env", "-u", "WAYLAND_DISPLAY", "DISPLAY=" + x.display(), "HOME=" + home_,
                           "AIRLOCK_BOX_STORE=" + home_ + "/boxes", AirlockBin(), "browser", "--net", "host", "--quarantine", home_ + "/q",
                           "--downloads", home_ + "/Downloads", "--timeout", "150", "--until-settled", http.Url("/setup.sh")},
                          log);
  ASSERT_TRUE(WaitForMarker(log, "detonating it in the analysis sandbox", 90000)) << ReadFileOrEmpty(log);
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_NE(ReadFileOrEmpty(log).find("interrupted"), std::string::npos) << ReadFileOrEmpty(log);
  RunResult list = Downloads({"list", "--json"});
  json listed = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(listed.is_object() && listed["downloads"].size() == 1) << list.out << list.err;
  EXPECT_EQ(listed["downloads"][0]["state"], "unjudged") << list.out;
  std::error_code ec;
  EXPECT_TRUE(!std::filesystem::exists(home_ + "/Downloads", ec) || std::filesystem::is_empty(home_ + "/Downloads", ec));
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = !ProcessWithArgExists(home_);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << "left running: " << DescribeProcessesWithArg(home_);
}

TEST_F(BrowserSession, MissingDisplayOrBrowserIsAClearError) {
  RunResult none = airlock::test::Run({"/usr/bin/env", "-u", "DISPLAY", "-u", "WAYLAND_DISPLAY", "HOME=" + home_, AirlockBin(), "browser",
                        "--quarantine", home_ + "/q", "about:blank"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("no display"), std::string::npos) << none.err;
  RunResult remote = airlock::test::Run({"/usr/bin/env", "DISPLAY=example.org:0", "HOME=" + home_, AirlockBin(), "browser", "--quarantine", home_ + "/q"});
  EXPECT_NE(remote.err.find("is not local"), std::string::npos) << remote.err;
  RunResult missing = airlock::test::Run({"/usr/bin/env", "HOME=" + home_, AirlockBin(), "browser", "--headless", "--chromium", "/nonexistent/chromium",
                           "--quarantine", home_ + "/q"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no browser at /nonexistent/chromium"), std::string::npos) << missing.err;
}

// --keepassxc with Chromium: an extension the test writes, with KeePassXC-Browser's public key (so the
// Web Store's id, which the manifest allows; Debian packages only the Manifest V2 extension, which
// this Chromium no longer loads), connects to the native host from its page. Chromium finds the
// manifest airlock binds in its profile and starts keepassxc-proxy inside with that origin, and the
// proxy reaches the KeePassXC the test runs. (The reply does not reach the page: this Chromium closes a
// host's output pipe as it starts it, without airlock too; docs/BROWSER.md.) The control, without the
// flag: the page is told the host is not found, and no proxy starts. As root the flag is refused.
TEST_F(BrowserSession, KeePassXcIsReachedOnlyWhenAllowed) {
  if (IsRoot()) {  // refused, saying why: root's sandboxes run as nobody outside
    RunResult r = airlock::test::Run({"/usr/bin/env", "HOME=" + home_, AirlockBin(), "browser", "--headless", "--keepassxc", "--quarantine",
                                      home_ + "/q", "about:blank"}, "", 60);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find("--keepassxc: as root"), std::string::npos) << r.err;
    return;
  }
  for (const char* p : kKeePassXcBrowserPaths) {
    if (access(p, R_OK) != 0) GTEST_SKIP() << "SKIPPED: " << p << " missing (Debian packages keepassxc, webext-keepassxc-browser)";
  }
  json debian = json::parse(ReadFileOrEmpty("/usr/share/webext/keepassxc-browser/manifest.json"), nullptr, false);
  ASSERT_TRUE(debian.is_object() && debian.contains("key"));
  const std::string ext = home_ + "/ext", origin = "chrome-extension://oboonakemofpalcgghocfoadofidjkkk/";
  std::filesystem::create_directories(ext);
  WriteFile(ext + "/manifest.json", json({{"manifest_version", 3}, {"name", "airlock native messaging probe"}, {"version", "1.0"},
                                          {"key", debian["key"]}, {"permissions", {"nativeMessaging"}}}).dump());
  WriteFile(ext + "/page.html", "<!doctype html><html><body><p id=out>waiting</p><script src=page.js></script></body></html>");
  WriteFile(ext + "/page.js", R"JS(
const out = document.getElementById('out');
window.port = chrome.runtime.connectNative('org.keepassxc.keepassxc_browser');
window.port.onMessage.addListener(m => { out.textContent = 'reply ' + JSON.stringify(m); });
window.port.onDisconnect.addListener(() => { out.textContent = 'gone: ' + (chrome.runtime.lastError ? chrome.runtime.lastError.message : ''); });
window.port.postMessage({action: 'change-public-keys', publicKey: btoa('k'.repeat(32)), nonce: btoa('n'.repeat(24)), clientID: btoa('c'.repeat(24))});
)JS");
  KeePassXc kx(home_ + "/kx");
  ASSERT_TRUE(kx.Ready()) << ReadFileOrEmpty(home_ + "/kx/keepassxc.log");
  auto browser = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {"/usr/bin/env", "HOME=" + home_, "XDG_RUNTIME_DIR=" + kx.runtime(), AirlockBin(), "browser", "--headless",
                                     "--net", "none", "--quarantine", home_ + "/q", "--downloads", home_ + "/Downloads", "--uploads", ext,
                                     "--browser-flag", "--load-extension=/home/sandbox/Uploads"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(origin + "page.html");
    return argv;
  };
  const std::string log = home_ + "/browser.log";
  pid_t b = SpawnLogged(browser({"--keepassxc", "--timeout", "60"}), log);
  pid_t proxy = 0;
  bool connected = false;
  for (int i = 0; i < 600 && !connected; ++i, ::usleep(100000)) {
    if (pid_t p = ProcessWithArg("keepassxc-proxy " + origin); p > 0) {  // not airlock's argv, which names the page
      proxy = p;
      connected = kx.ConnectedFrom(p);
    }
  }
  ::kill(b, SIGTERM);
  ::waitpid(b, nullptr, 0);
  EXPECT_GT(proxy, 0) << "Chromium started no keepassxc-proxy\n" << ReadFileOrEmpty(log) << ReadFileOrEmpty(home_ + "/q/browser.log");
  EXPECT_TRUE(connected) << "the proxy did not reach KeePassXC\n" << ReadFileOrEmpty(log);

  const std::string report = home_ + "/report.json";
  RunResult control = airlock::test::Run(browser({"--until-settled", "--timeout", "60", "--report", report}), "", 120);
  json rep = json::parse(ReadFileOrEmpty(report), nullptr, false);
  ASSERT_TRUE(rep.is_object()) << control.err;
  EXPECT_NE(rep["text"].get<std::string>().find("gone: Specified native messaging host not found."), std::string::npos) << rep.dump();
  EXPECT_FALSE(ProcessWithArgExists(origin));
}

// What the browser saves in its download folder by other means than a download ("Save as PDF" from
// the print dialog, "Save Page As": files the browser process writes there; written here by the test
// into the session's incoming directory, as the browser would) is held and judged like a download
// when the session ends, not lost with the directory: a clean PDF is released with its verdict. A
// partial download file, an empty file and a folder are not taken (the folder is said).
TEST_F(BrowserSession, FilesTheBrowserSavesInItsDownloadFolderAreJudgedToo) {
  ExpectSavedFilesJudged(home_, {"--headless", "--net", "none"});
}
