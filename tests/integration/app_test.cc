// `airlock app`, `airlock open` of a document and `airlock desktop` end to end (docs/BROWSER.md,
// "Desktop programs in boxes"): real X clients (Debian's x11-utils) on a private Xvfb the test starts,
// the usual application chosen by GIO from the test's own XDG directories, boxes in the test's own
// box store.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "test_env.h"
#include "xvfb.h"

using namespace airlock::test;

namespace {

void WriteMaking(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  WriteFile(path, content);
}

class App : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"/usr/bin/Xvfb", "/usr/bin/xdpyinfo", "/usr/bin/xmessage", "/usr/bin/xwininfo"}) {
      if (access(tool, X_OK) != 0) GTEST_SKIP() << "SKIPPED: " << tool << " is missing (Debian packages xvfb, x11-utils)";
    }
    home_ = MakeTempDir("app-home");
    WriteFile(home_ + "/canary", "host-secret\n");
  }
  void TearDown() override {
    if (!home_.empty()) std::filesystem::remove_all(home_);
  }

  // airlock with the test's display, home, XDG directories and box store.
  RunResult Airlock(const std::string& display, std::vector<std::string> args, int timeout = 120) {
    std::vector<std::string> argv = {"/usr/bin/env", "-u", "WAYLAND_DISPLAY", "-u", "DISPLAY"};
    if (!display.empty()) argv.push_back("DISPLAY=" + display);
    for (const std::string& e : {"HOME=" + home_, "XDG_DATA_HOME=" + home_ + "/data", "XDG_CONFIG_HOME=" + home_ + "/config",
                                 "XDG_DATA_DIRS=" + home_ + "/no-system-apps", "AIRLOCK_BOX_STORE=" + home_ + "/boxes"}) {
      argv.push_back(e);
    }
    argv.push_back(AirlockBin());
    argv.insert(argv.end(), args.begin(), args.end());
    return airlock::test::Run(argv, "", timeout);
  }

  // The X clients on the display, by name (xwininfo -root -tree).
  static std::string Windows(const std::string& display) {
    return airlock::test::Run({"/usr/bin/xwininfo", "-display", display, "-root", "-tree"}, "", 10).out;
  }

  std::string home_;
};

}  // namespace

// The program draws on the display and sees nothing else of the host: not the home (a canary), not
// the network (only its own loopback). Controls: --headless (no display bound) makes the same client
// fail, and --net host shows the host's interfaces, so both checks can fail.
TEST_F(App, AProgramGetsTheDisplayAndNothingElseOfTheHost) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty()) << "Xvfb did not start";
  const std::string probe = "xdpyinfo >/dev/null && echo display-ok; cat " + home_ + "/canary || echo no-canary; "
                            "echo interfaces=$(grep -c : /proc/net/dev); echo home=$HOME";
  RunResult r = Airlock(x.display(), {"app", "--", "/bin/sh", "-c", probe});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("display-ok"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("no-canary"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("host-secret"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("interfaces=1\n"), std::string::npos) << "only its own loopback: " << r.out;
  EXPECT_NE(r.out.find("home=/home/sandbox"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("WEAKENED: the display is the host's X11 server"), std::string::npos) << r.err;

  RunResult headless = Airlock(x.display(), {"app", "--headless", "--", "xdpyinfo"});
  EXPECT_NE(headless.exit_code, 0) << "no display bound, yet the client connected: " << headless.out;
  RunResult host = Airlock(x.display(), {"app", "--net", "host", "--", "/bin/sh", "-c", "echo interfaces=$(grep -c : /proc/net/dev)"});
  EXPECT_EQ(host.exit_code, 0) << host.err;
  EXPECT_EQ(host.out.find("interfaces=1\n"), std::string::npos) << "the control saw only loopback: " << host.out;
  EXPECT_NE(host.err.find("WEAKENED: --net host"), std::string::npos) << host.err;

  RunResult none = Airlock("", {"app", "--", "/bin/true"});
  EXPECT_EQ(none.exit_code, 2) << none.err;
  EXPECT_NE(none.err.find("no display"), std::string::npos) << none.err;
}

// --box keeps what the program writes to its home (its settings) for the next run; a disposable run
// starts empty, and the user's own home never gets the file.
TEST_F(App, ABoxKeepsTheProgramsHomeAndADisposableOneStartsEmpty) {
  RunResult w = Airlock("", {"app", "--box", "viewer", "--headless", "--", "/bin/sh", "-c", "echo kept-setting > $HOME/settings"});
  ASSERT_EQ(w.exit_code, 0) << w.err;
  EXPECT_NE(w.err.find("created box 'viewer'"), std::string::npos) << w.err;
  RunResult again = Airlock("", {"app", "--box", "viewer", "--headless", "--", "/bin/cat", "/home/sandbox/settings"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "kept-setting\n") << again.err;
  RunResult fresh = Airlock("", {"app", "--headless", "--", "/bin/cat", "/home/sandbox/settings"});
  EXPECT_NE(fresh.exit_code, 0) << "a disposable run saw the box's file: " << fresh.out;
  EXPECT_FALSE(std::filesystem::exists(home_ + "/settings"));
  RunResult rm = Airlock("", {"box", "rm", "viewer"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
}

// `airlock open` of a document starts the desktop's usual application for its type (here a test
// entry: xmessage showing the file) in a disposable sandbox: its window appears on the display, and it
// read the file (xmessage exits 1 when it cannot). airlock's own "Open in airlock" entry, even as the
// default, is skipped: open never calls itself. A type with no application is a clear error.
TEST_F(App, OpenShowsADocumentInItsUsualApplication) {
  Xvfb x;
  ASSERT_FALSE(x.display().empty()) << "Xvfb did not start";
  WriteMaking(home_ + "/data/applications/test-viewer.desktop",
            "[Desktop Entry]\nType=Application\nName=Test Viewer\nExec=xmessage -timeout 4 -file %f\nMimeType=text/plain;\n");
  RunResult installed = Airlock("", {"desktop", "install"});
  ASSERT_EQ(installed.exit_code, 0) << installed.err;
  WriteMaking(home_ + "/config/mimeapps.list", "[Default Applications]\ntext/plain=airlock-open.desktop\n");
  WriteFile(home_ + "/Q3 notes.txt", "quarterly numbers\n");
  RunResult r;
  std::thread opener([&] { r = Airlock(x.display(), {"open", home_ + "/Q3 notes.txt"}); });
  bool shown = false;
  for (int i = 0; i < 60 && !shown; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    shown = Windows(x.display()).find("\"xmessage\"") != std::string::npos;
  }
  opener.join();
  EXPECT_TRUE(shown) << "no xmessage window appeared: " << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("opens in test-viewer.desktop inside a disposable sandbox"), std::string::npos) << r.err;

  WriteFile(home_ + "/data.bin", std::string("\x01\x02\x03\x04 no type", 13));
  RunResult unknown = Airlock(x.display(), {"open", home_ + "/data.bin"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("no application is registered for"), std::string::npos) << unknown.err;
}

// --audio binds the sound server's socket: `pactl info` inside reaches a real PulseAudio the test starts
// (as uid 65534, anonymous clients allowed, a null sink); the control, the same call without --audio,
// reaches nothing. The weakening is said.
TEST_F(App, AudioIsTheSoundServersSocketOnlyWhenAsked) {
  for (const char* tool : {"/usr/bin/pulseaudio", "/usr/bin/pactl"}) {
    if (access(tool, X_OK) != 0) GTEST_SKIP() << "SKIPPED: " << tool << " is missing (Debian packages pulseaudio, pulseaudio-utils)";
  }
  const std::string run = home_ + "/pa-run", socket = run + "/native";
  std::filesystem::create_directories(run);
  std::vector<std::string> argv = {"/usr/bin/env", "-i", "HOME=" + home_, "XDG_RUNTIME_DIR=" + run, "PATH=/usr/bin:/bin",
                                   "/usr/bin/pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n",
                                   "--load=module-native-protocol-unix socket=" + socket + " auth-anonymous=1", "--load=module-null-sink"};
  if (IsRoot()) {  // PulseAudio refuses to run as root outside its system mode
    ASSERT_EQ(::chown(home_.c_str(), 65534, 65534), 0);
    ASSERT_EQ(::chown(run.c_str(), 65534, 65534), 0);
    argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"});
  }
  pid_t pa = SpawnLogged(argv, home_ + "/pa.log");
  for (int i = 0; i < 100 && access(socket.c_str(), F_OK) != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::string server = "PULSE_SERVER=unix:" + socket;
  RunResult bound = airlock::test::Run({"/usr/bin/env", server, AirlockBin(), "app", "--headless", "--audio", "--", "pactl", "info"}, "", 60);
  // The control: no --audio, and the program names the host's socket itself.
  RunResult without = airlock::test::Run({"/usr/bin/env", server, AirlockBin(), "app", "--headless", "--", "/usr/bin/env", server, "pactl", "info"},
                                         "", 60);
  ::kill(pa, SIGTERM);
  ::waitpid(pa, nullptr, 0);
  EXPECT_EQ(bound.exit_code, 0) << bound.out << bound.err << ReadFileOrEmpty(home_ + "/pa.log");
  EXPECT_NE(bound.out.find("Server Name: pulseaudio"), std::string::npos) << bound.out << bound.err;
  EXPECT_NE(bound.err.find("WEAKENED: --audio"), std::string::npos) << bound.err;
  EXPECT_NE(without.exit_code, 0) << "without --audio the sandbox reached the sound server: " << without.out;
  RunResult none = airlock::test::Run({"/usr/bin/env", "-u", "PULSE_SERVER", "XDG_RUNTIME_DIR=" + home_ + "/nowhere", AirlockBin(), "app", "--headless", "--audio", "--", "true"});
  EXPECT_EQ(none.exit_code, 2) << none.err;
  EXPECT_NE(none.err.find("--audio: no sound server socket"), std::string::npos) << none.err;
}

namespace {

bool HasRenderNode() {
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/dev/dri", ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename().string().starts_with("renderD") && it->symlink_status(ec).type() == std::filesystem::file_type::character) {
      return true;
    }
  }
  return false;
}

}  // namespace

// --gpu binds the GPU's render nodes and nothing else of it (not the primary node card0); without it
// there is no /dev/dri inside; with no render node on the host it is refused, saying why. This machine
// has no GPU: as root the test makes one in a private mount namespace (a tmpfs on /dev/dri holding
// renderD128 and card0, DRM's device numbers, no driver behind them: the binding is what is tested, not
// a GPU); as a user on a host without one, the refusal is what is tested.
TEST_F(App, GpuIsTheRenderNodesOnlyWhenAsked) {
  const std::string probe = "ls /dev/dri 2>&1; for n in /dev/dri/*; do [ -c \"$n\" ] && echo \"char $n $(stat -c %t:%T $n)\"; done; true";
  std::vector<std::string> prefix;
  bool made_dri = false;
  if (!HasRenderNode()) {
    if (!IsRoot()) {
      RunResult refused = Airlock("", {"app", "--headless", "--gpu", "--", "/bin/true"});
      EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
      EXPECT_NE(refused.err.find("--gpu: no GPU render node in /dev/dri"), std::string::npos) << refused.err;
      return;
    }
    std::error_code ec;
    made_dri = std::filesystem::create_directory("/dev/dri", ec);
    prefix = {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
              "mount -t tmpfs -o mode=0755 airlock-test-dri /dev/dri && mknod -m 0666 /dev/dri/renderD128 c 226 128 && "
              "mknod -m 0666 /dev/dri/card0 c 226 0 && exec \"$@\"",
              "sh"};
  }
  auto app = [&](std::vector<std::string> flags) {  // airlock app, in the private namespace when one is made
    std::vector<std::string> argv = prefix;
    argv.insert(argv.end(), {"/usr/bin/env", "HOME=" + home_, AirlockBin(), "app", "--headless"});
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--", "/bin/sh", "-c", probe});
    return airlock::test::Run(argv, "", 60);
  };
  RunResult with = app({"--gpu"});
  RunResult without = app({});
  // Chromium with the node (no --disable-gpu): its own sandbox still checks on (the GPU process falls
  // back to software on a node with no driver).
  std::vector<std::string> browser = prefix;
  browser.insert(browser.end(), {"/usr/bin/env", "HOME=" + home_, AirlockBin(), "browser", "--headless", "--gpu", "--check", "--quarantine",
                                 home_ + "/q", "--downloads", home_ + "/d"});
  RunResult checked = airlock::test::Run(browser, "", 120);
  if (made_dri) std::filesystem::remove("/dev/dri");
  EXPECT_EQ(with.exit_code, 0) << with.out << with.err;
  EXPECT_NE(with.out.find("char /dev/dri/renderD"), std::string::npos) << with.out << with.err;
  EXPECT_EQ(with.out.find("card"), std::string::npos) << "the primary node was bound too: " << with.out;
  EXPECT_NE(with.err.find("WEAKENED: --gpu: the program reaches the GPU driver (/dev/dri/renderD"), std::string::npos) << with.err;
  EXPECT_EQ(without.exit_code, 0) << without.out << without.err;
  EXPECT_EQ(without.out.find("char /dev/dri/"), std::string::npos) << "without --gpu the sandbox saw a GPU node: " << without.out;
  EXPECT_EQ(checked.exit_code, 0) << checked.out << checked.err;
  EXPECT_NE(checked.err.find("WEAKENED: --gpu"), std::string::npos) << checked.err;
}

// `airlock desktop install` writes the two launchers with this airlock's absolute path; Debian's
// desktop-file-validate accepts them; uninstall removes exactly them.
TEST_F(App, DesktopEntriesInstallValidateAndUninstall) {
  const std::string dir = home_ + "/apps";
  WriteMaking(dir + "/other.desktop", "[Desktop Entry]\nType=Application\nName=Other\nExec=true\n");
  RunResult in = Airlock("", {"desktop", "install", "--dir", dir});
  ASSERT_EQ(in.exit_code, 0) << in.err;
  const std::string chromium = ReadFileOrEmpty(dir + "/airlock-chromium.desktop"), open = ReadFileOrEmpty(dir + "/airlock-open.desktop");
  EXPECT_NE(chromium.find("Exec=" + AirlockBin() + " browser %u\n"), std::string::npos) << chromium;
  EXPECT_NE(open.find("Exec=" + AirlockBin() + " open %f\n"), std::string::npos) << open;
  EXPECT_NE(open.find("application/pdf;"), std::string::npos) << open;
  if (access("/usr/bin/desktop-file-validate", X_OK) == 0) {
    RunResult v = airlock::test::Run({"/usr/bin/desktop-file-validate", dir + "/airlock-chromium.desktop", dir + "/airlock-open.desktop"});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  } else {
    std::fprintf(stderr, "NOTE: desktop-file-validate missing (Debian package desktop-file-utils): entries not validated\n");
  }
  RunResult out = Airlock("", {"desktop", "uninstall", "--dir", dir});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/airlock-chromium.desktop"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/airlock-open.desktop"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/other.desktop")) << "uninstall removed another entry";
}
