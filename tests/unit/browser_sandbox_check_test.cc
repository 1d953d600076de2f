// browser/sandbox_check.h on a fake /proc: which processes count as renderers for each browser, and
// what makes one "not sandboxed" (each criterion shown failing on its own).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "browser/firefox_session.h"
#include "browser/keepassxc.h"
#include "browser/marionette.h"
#include "browser/sandbox_check.h"
#include "test_env.h"

namespace airlock::browser {
namespace {

namespace fs = std::filesystem;

// A fake /proc: each process its status (PPid, Seccomp, Seccomp_filters), its cmdline and its
// namespace files; a namespace shared with another process is a hard link to its file.
class FakeProc {
 public:
  FakeProc() : root_(test::MakeTempDir("fake-proc")) {}
  ~FakeProc() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void Add(int pid, int ppid, const std::string& cmdline, int filters) {
    const std::string dir = root_ + "/" + std::to_string(pid);
    fs::create_directories(dir + "/ns");
    std::ofstream(dir + "/status") << "Name:\tx\nPPid:\t" << ppid << "\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t" << filters << "\n";
    std::ofstream(dir + "/cmdline") << cmdline;
    for (const char* ns : {"user", "pid", "net"}) std::ofstream(dir + "/ns/" + ns) << pid << ns;
  }
  // pid's namespace KIND is the same as of_pid's.
  void Share(int pid, int of_pid, const char* kind) {
    const std::string mine = root_ + "/" + std::to_string(pid) + "/ns/" + kind;
    fs::remove(mine);
    fs::create_hard_link(root_ + "/" + std::to_string(of_pid) + "/ns/" + kind, mine);
  }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

std::string Args(std::initializer_list<const char*> args) {
  std::string out;
  for (const char* a : args) out += std::string(a) + '\0';
  return out;
}

TEST(SandboxCheck, FirefoxContentProcessesNeedTheirOwnUserAndNetworkNamespaces) {
  FakeProc p;
  p.Add(10, 1, Args({"/usr/bin/firefox-esr", "--marionette", "about:blank"}), 1);
  p.Add(11, 10, Args({"/usr/lib/firefox-esr/firefox-esr", "-contentproc", "-ipcHandle", "forkserver"}), 1);
  p.Add(12, 11, "/usr/lib/firefox-esr/firefox-esr -contentproc -isForBrowser 12 tab", 2);  // a title rewritten with spaces
  p.Add(13, 11, Args({"/usr/lib/firefox-esr/firefox-esr", "-contentproc", "-parentBuildID", "socket"}), 2);
  for (int pid : {11, 12, 13}) p.Share(pid, 10, "pid");  // Firefox's design: one pid namespace
  p.Share(11, 10, "user"), p.Share(11, 10, "net");
  p.Share(13, 10, "net");
  SandboxFacts f = CheckBrowserSandbox(1, p.root());
  EXPECT_TRUE(f.ok) << f.summary << SandboxFactsText(f);
  EXPECT_NE(f.summary.find("content process"), std::string::npos) << f.summary;
  std::map<int, std::string> types;
  for (const auto& proc : f.processes) types[proc.pid] = proc.type;
  EXPECT_EQ(types[10], "browser");
  EXPECT_EQ(types[11], "forkserver");
  EXPECT_EQ(types[12], "renderer");
  EXPECT_EQ(types[13], "socket");

  p.Share(12, 10, "net");  // the content process on the browser's network: Firefox's sandbox is off
  f = CheckBrowserSandbox(1, p.root());
  EXPECT_FALSE(f.ok);
  EXPECT_NE(SandboxFactsText(f).find("shares the browser's network namespace"), std::string::npos) << SandboxFactsText(f);
}

TEST(SandboxCheck, ChromiumRenderersNeedTheirOwnUserAndPidNamespacesAndFilter) {
  FakeProc p;
  p.Add(20, 1, Args({"/usr/lib/chromium/chromium", "--remote-debugging-pipe"}), 1);
  p.Add(21, 20, "/usr/lib/chromium/chromium --type=renderer --lang=en", 2);
  EXPECT_TRUE(CheckBrowserSandbox(1, p.root()).ok);
  p.Share(21, 20, "pid");
  SandboxFacts f = CheckBrowserSandbox(1, p.root());
  EXPECT_FALSE(f.ok);
  EXPECT_NE(SandboxFactsText(f).find("shares the browser's pid namespace"), std::string::npos) << SandboxFactsText(f);
  p.Add(21, 20, "/usr/lib/chromium/chromium --type=renderer --lang=en", 1);  // only airlock's filter
  f = CheckBrowserSandbox(1, p.root());
  EXPECT_NE(SandboxFactsText(f).find("no seccomp filter of its own"), std::string::npos) << SandboxFactsText(f);
}

// Firefox's sandbox argv: the browser profile with exactly the Marionette port to listen on, the
// prefs written inside, and no host network.
TEST(FirefoxArgv, TheBrowserProfileListensOnMarionetteOnlyAndRefusesTheHostNetwork) {
  setenv("AIRLOCK_BIN", "/bin/true", 1);
  SessionOptions o;
  o.browser = "firefox";
  DisplayChoice headless{"headless", {}, {}, ""};
  auto argv = FirefoxArgv(o, headless, DisplayChoice{}, "/tmp/incoming", "");
  ASSERT_TRUE(argv) << argv.error().What();
  std::string joined;
  for (const auto& a : *argv) joined += a + "\n";
  EXPECT_NE(joined.find("--profile\nbrowser\n"), std::string::npos) << joined;
  EXPECT_NE(joined.find("--listen\n2828\n"), std::string::npos) << joined;
  EXPECT_NE(joined.find("--bind\n/tmp/incoming\n/downloads\n"), std::string::npos) << joined;
  EXPECT_NE(joined.find("/usr/bin/firefox-esr\n--marionette\n"), std::string::npos) << joined;
  EXPECT_NE(joined.find("--headless\n"), std::string::npos) << joined;
  EXPECT_NE(FirefoxPrefs().find("user_pref(\"browser.download.dir\", \"/downloads\");"), std::string::npos);
  o.net = "host";
  auto refused = FirefoxArgv(o, headless, DisplayChoice{}, "/tmp/incoming", "");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().What().find("Marionette"), std::string::npos) << refused.error().What();
  unsetenv("AIRLOCK_BIN");
}

// --keepassxc's manifest names only keepassxc-proxy and KeePassXC-Browser's published ids, per browser;
// the sandbox gets a private 0700-able runtime directory (Qt refuses any other) with the socket.
TEST(KeePassXc, TheManifestNamesOnlyTheProxyAndTheExtension) {
  auto chromium = nlohmann::json::parse(KeePassXcManifest("chromium"));
  EXPECT_EQ(chromium["name"], "org.keepassxc.keepassxc_browser");
  EXPECT_EQ(chromium["path"], "/usr/bin/keepassxc-proxy");
  EXPECT_EQ(chromium["type"], "stdio");
  EXPECT_EQ(chromium["allowed_origins"], nlohmann::json({"chrome-extension://oboonakemofpalcgghocfoadofidjkkk/",
                                                         "chrome-extension://pdffhmdngciaglkoonimfcmckehcpafo/"}));
  EXPECT_FALSE(chromium.contains("allowed_extensions"));
  auto firefox = nlohmann::json::parse(KeePassXcManifest("firefox"));
  EXPECT_EQ(firefox["allowed_extensions"], nlohmann::json({"keepassxc-browser@keepassxc.org"}));
  EXPECT_FALSE(firefox.contains("allowed_origins"));

  setenv("AIRLOCK_BIN", "/bin/true", 1);
  SessionOptions o;
  o.browser = "firefox";
  o.keepassxc = true;
  DisplayChoice headless{"headless", {}, {}, ""};
  auto argv = FirefoxArgv(o, headless, DisplayChoice{}, "/tmp/incoming", "");
  ASSERT_TRUE(argv) << argv.error().What();
  std::string joined;
  for (const auto& a : *argv) joined += a + "\n";
  EXPECT_NE(joined.find("--tmpfs\n/run/user/1000:1m\n"), std::string::npos) << joined;
  unsetenv("AIRLOCK_BIN");
}

// Marionette's framing from a hostile browser: each bad frame is an error naming it, never a crash
// or a hang; a good reply after a stale one is matched by its id.
TEST(MarionetteClient, HostileFramesAreErrors) {
  using namespace std::chrono_literals;
  const auto answer = [](const std::string& frames) -> std::string {
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) return "socketpair";
    Marionette m{UniqueFd(sp[0])};
    (void)!write(sp[1], frames.data(), frames.size());
    auto r = m.Call("WebDriver:Test", nlohmann::json::object(), 300ms);
    close(sp[1]);
    return r ? "ok " + r->dump() : r.error().What();
  };
  EXPECT_NE(answer("99999999999999:{}").find("-byte message"), std::string::npos);
  EXPECT_NE(answer("12x:{}").find("malformed frame length"), std::string::npos);
  EXPECT_NE(answer("9:{nope").find("did not answer"), std::string::npos) << "a frame cut short waits, bounded";
  EXPECT_NE(answer("5:{nop}").find("not JSON"), std::string::npos);
  EXPECT_NE(answer("2:{}").find("malformed reply"), std::string::npos);
  EXPECT_NE(answer("").find("did not answer"), std::string::npos);
  EXPECT_EQ(answer("38:[1,1,{\"error\":7,\"message\":\"odd\"},null]"), "WebDriver:Test: : odd") << "an error that is not a string";
  EXPECT_EQ(answer("16:[1,0,null,\"old\"]16:[1,1,null,\"new\"]"), "ok \"new\"");
}

}  // namespace
}  // namespace airlock::browser
