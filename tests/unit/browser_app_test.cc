// `airlock app`'s pure parts: a desktop entry's Exec line expanded for one file, the inside path of
// an opened file, the run request, and the opt-ins' binds (--gpu, --screen-share) (docs/BROWSER.md,
// "Desktop programs in boxes").
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "browser/app_session.h"

namespace airlock::browser {
namespace {

std::vector<std::string> Expand(const std::string& exec) {
  auto r = ExpandExec(exec, "/opened/Q3 notes.txt", "Viewer");
  EXPECT_TRUE(r) << exec << ": " << r.error().What();
  return r ? *r : std::vector<std::string>{};
}

TEST(AppExec, FieldCodesBecomeTheFileOrNothing) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Expand("evince %U"), (V{"evince", "/opened/Q3 notes.txt"}));
  EXPECT_EQ(Expand("libreoffice --writer %F"), (V{"libreoffice", "--writer", "/opened/Q3 notes.txt"}));
  EXPECT_EQ(Expand("viewer --file=%f --title=%c"), (V{"viewer", "--file=/opened/Q3 notes.txt", "--title=Viewer"}));
  EXPECT_EQ(Expand("viewer %i %k %f"), (V{"viewer", "/opened/Q3 notes.txt"})) << "icon and location are dropped";
  EXPECT_EQ(Expand("\"/opt/My App/bin/view\" --progress=100%% %u"), (V{"/opt/My App/bin/view", "--progress=100%", "/opened/Q3 notes.txt"}));
  EXPECT_EQ(Expand("viewer"), (V{"viewer", "/opened/Q3 notes.txt"})) << "a line without a file code still gets the file";
}

TEST(AppExec, UnreadableLinesAreErrors) {
  EXPECT_FALSE(ExpandExec("viewer \"unterminated", "/opened/x", "V"));
  EXPECT_FALSE(ExpandExec("", "/opened/x", "V"));
  EXPECT_FALSE(ExpandExec("%i", "/opened/x", "V")) << "no program";
}

TEST(AppExec, OpenedNamesAreSafe) {
  EXPECT_EQ(OpenedPath("/home/u/Q3 notes.txt"), "/opened/Q3 notes.txt");
  EXPECT_EQ(OpenedPath("/tmp/.hidden"), "/opened/file.hidden");
  EXPECT_EQ(OpenedPath("/tmp/-rf"), "/opened/file-rf");
  EXPECT_EQ(OpenedPath("/tmp/a$b`c'd\"e\\f\nx"), "/opened/a_b_c_d_e_f_x");
  EXPECT_EQ(OpenedPath(""), "");
}

TEST(AppArgv, TheProgramRunsInTheGuiProfileWithTheDisplayAndTheFileReadOnly) {
  setenv("AIRLOCK_BIN", "/usr/bin/true", 1);  // any absolute path: the argv is only built
  AppOptions o;
  o.file = "/home/u/Q3 notes.txt";
  o.command = {"viewer", "%f"};
  DisplayChoice d;
  d.platform = "x11";
  d.ro_binds = {{"/tmp/.X11-unix/X3", "/tmp/.X11-unix/X3"}};
  d.env = {"DISPLAY=:3"};
  auto argv = AppArgv(o, d);
  ASSERT_TRUE(argv) << argv.error().What();
  std::string all;
  for (const auto& a : *argv) all += a + "|";
  EXPECT_NE(all.find("|run|"), std::string::npos) << all;
  EXPECT_NE(all.find("--profile|gui|"), std::string::npos) << all;
  EXPECT_NE(all.find("--net|none|"), std::string::npos) << all;
  EXPECT_NE(all.find("--ro-bind|/home/u/Q3 notes.txt|/opened/Q3 notes.txt|"), std::string::npos) << all;
  EXPECT_NE(all.find("DISPLAY=:3"), std::string::npos) << all;
  EXPECT_NE(all.find("DBUS_SESSION_BUS_ADDRESS=disabled:"), std::string::npos) << all;
  EXPECT_NE(all.find("|--|viewer|/opened/Q3 notes.txt|"), std::string::npos) << all;
  o.box = "docs";
  auto boxed = AppArgv(o, d);
  ASSERT_TRUE(boxed);
  EXPECT_EQ((*boxed)[1], "box");
  EXPECT_EQ((*boxed)[2], "run");
  EXPECT_EQ((*boxed)[3], "docs");
  o.command.clear();
  EXPECT_FALSE(AppArgv(o, d));
}

// --gpu: only character devices named renderD* are taken (a file of that name is not a device, card0
// is the primary node), each bound with --dev-bind where it is; none is an error saying so. Chromium
// keeps --disable-gpu unless asked.
TEST(Gpu, OnlyRenderNodesAreBoundAndNoneIsAnError) {
  const std::string dir = ::testing::TempDir() + "gpu-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/renderD128") << "not a device";
  auto none = ChooseGpu(dir);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().What().find("--gpu: no GPU render node in " + dir), std::string::npos) << none.error().What();
  EXPECT_FALSE(ChooseGpu(dir + "/missing"));
  if (::geteuid() == 0) {  // mknod needs CAP_MKNOD
    std::filesystem::remove(dir + "/renderD128");
    ASSERT_EQ(::mknod((dir + "/renderD129").c_str(), S_IFCHR | 0666, makedev(226, 129)), 0);
    ASSERT_EQ(::mknod((dir + "/renderD128").c_str(), S_IFCHR | 0666, makedev(226, 128)), 0);
    ASSERT_EQ(::mknod((dir + "/card0").c_str(), S_IFCHR | 0666, makedev(226, 0)), 0);
    auto gpu = ChooseGpu(dir);
    ASSERT_TRUE(gpu) << gpu.error().What();
    EXPECT_EQ(gpu->dev_binds, (std::vector<std::pair<std::string, std::string>>{{dir + "/renderD128", dir + "/renderD128"},
                                                                               {dir + "/renderD129", dir + "/renderD129"}}));
    EXPECT_NE(gpu->weakening.find("--gpu: the program reaches the GPU driver"), std::string::npos) << gpu->weakening;
    setenv("AIRLOCK_BIN", "/usr/bin/true", 1);
    AppOptions o;
    o.command = {"viewer"};
    auto argv = AppArgv(o, DisplayChoice{"headless", {}, {}, ""}, "", *gpu);
    ASSERT_TRUE(argv) << argv.error().What();
    std::string all;
    for (const auto& a : *argv) all += a + "|";
    EXPECT_NE(all.find("--dev-bind|" + dir + "/renderD128|" + dir + "/renderD128|"), std::string::npos) << all;
    EXPECT_EQ(all.find("card0"), std::string::npos) << all;
  }
  std::filesystem::remove_all(dir);

  SessionOptions s;
  auto has = [](const std::vector<std::string>& cmd, const std::string& flag) { return std::find(cmd.begin(), cmd.end(), flag) != cmd.end(); };
  EXPECT_TRUE(has(ChromiumCommand(s, "x11"), "--disable-gpu"));
  s.gpu = true;
  EXPECT_FALSE(has(ChromiumCommand(s, "x11"), "--disable-gpu"));
  EXPECT_TRUE(has(ChromiumCommand(s, "x11"), "--ozone-platform=x11"));
}

// --screen-share: PipeWire's socket (refused as root and without one); with --audio as well, the
// socket both bind is given once (one mount per inside path).
TEST(ScreenShare, PipeWireOnceAndClearRefusals) {
  const std::string dir = ::testing::TempDir() + "pw-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  auto none = ChooseScreenShare({"XDG_RUNTIME_DIR=" + dir});
  ASSERT_FALSE(none);
  if (::geteuid() == 0) {
    EXPECT_NE(none.error().What().find("--screen-share is not offered as root"), std::string::npos) << none.error().What();
    std::filesystem::remove_all(dir);
    return;
  }
  EXPECT_NE(none.error().What().find("no PipeWire socket"), std::string::npos) << none.error().What();
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  const std::string path = dir + "/pipewire-0";
  ASSERT_LT(path.size(), sizeof a.sun_path);
  std::memcpy(a.sun_path, path.c_str(), path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  auto screen = ChooseScreenShare({"XDG_RUNTIME_DIR=" + dir});
  ASSERT_TRUE(screen) << screen.error().What();
  EXPECT_EQ(screen->ro_binds, (std::vector<std::pair<std::string, std::string>>{{path, "/run/user/1000/pipewire-0"}}));
  EXPECT_EQ(screen->env, std::vector<std::string>{"PIPEWIRE_REMOTE=/run/user/1000/pipewire-0"});
  DesktopOptIns both;
  both.screen = *screen;
  both.audio.ro_binds = {{dir + "/pulse", "/run/user/1000/pulse/native"}, {path, "/run/user/1000/pipewire-0"}};
  both.audio.env = {"PULSE_SERVER=unix:/run/user/1000/pulse/native", "PIPEWIRE_REMOTE=/run/user/1000/pipewire-0"};
  DisplayChoice asked = both.Asked();
  EXPECT_EQ(asked.ro_binds.size(), 2u);
  EXPECT_EQ(asked.env.size(), 2u);
  ::close(fd);
  std::filesystem::remove_all(dir);
}

TEST(SiteBox, OneBoxPerSite) {
  EXPECT_EQ(SiteBoxName("https://www.Example.org/login?x=1"), "site-example.org");
  EXPECT_EQ(SiteBoxName("https://example.org"), "site-example.org");
  EXPECT_EQ(SiteBoxName("http://user:pw@bank.example:8443/"), "site-bank.example");
  EXPECT_EQ(SiteBoxName("http://127.0.0.1:8080/x"), "site-127.0.0.1");
  EXPECT_EQ(SiteBoxName("file:///etc/passwd"), "");
  EXPECT_EQ(SiteBoxName("data:text/html,x"), "");
  EXPECT_EQ(SiteBoxName("http://[::1]/"), "");
  EXPECT_EQ(SiteBoxName("http://bad_host/"), "");
  EXPECT_EQ(SiteBoxName("http:///nohost"), "");
}

}  // namespace
}  // namespace airlock::browser
