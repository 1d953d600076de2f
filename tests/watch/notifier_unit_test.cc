// The notifier's pure parts (levels, text, messages), its config keys, and its queue with a stand-in
// sender (a shell command in place of `airlock-watch notify-send`; the real one: notify_test.cc).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/json_text.h"
#include "watch/notifier.h"
#include "watch/watch_config.h"

namespace airlock::watch {
namespace {

namespace fs = std::filesystem;

TEST(Notifier, LevelsAndWhatTheyTell) {
  EXPECT_EQ(*ParseNotifyLevel("off"), NotifyLevel::kOff);
  EXPECT_EQ(*ParseNotifyLevel("all"), NotifyLevel::kAll);
  EXPECT_FALSE(ParseNotifyLevel("yes"));
  const Notice clean{Notice::Kind::kVerdict, "/d/f", "", Verdict::kClean}, bad{Notice::Kind::kVerdict, "/d/f", "", Verdict::kSuspicious};
  const Notice blocked{Notice::Kind::kBlocked, "/d/f", "", Verdict::kUnknown};
  EXPECT_FALSE(Wanted(NotifyLevel::kBlocked, clean));
  EXPECT_TRUE(Wanted(NotifyLevel::kAll, clean));
  EXPECT_TRUE(Wanted(NotifyLevel::kBlocked, bad));
  EXPECT_TRUE(Wanted(NotifyLevel::kBlocked, blocked));
  EXPECT_FALSE(Wanted(NotifyLevel::kOff, blocked));
  EXPECT_FALSE(Wanted(NotifyLevel::kAll, Notice{Notice::Kind::kVerdict, "/d/f", "", Verdict::kReleased}));
  // A notice with its own wording (the browser's downloads) is wanted at every level but off.
  Notice worded{Notice::Kind::kVerdict, "/d/f", "", Verdict::kUnknown};
  worded.message = NotifyMessage{"unjudged", false, "dialog-warning", "x-airlock.download", "held", "why"};
  EXPECT_TRUE(Wanted(NotifyLevel::kBlocked, worded));
  EXPECT_FALSE(Wanted(NotifyLevel::kOff, worded));
  EXPECT_EQ(MessageFor(worded, std::nullopt, true).summary, "held");
}

TEST(Notifier, UntrustedNamesBecomeSafeText) {
  EXPECT_EQ(DisplayText("ok é"), "ok é");
  EXPECT_EQ(DisplayText("a\xff" "b"), "a\\xffb");
  EXPECT_EQ(DisplayText("line\nbreak\x1b[31m"), "line\\x0abreak\\x1b[31m");
  const std::string cut = DisplayText(std::string(10, 'a') + "ééé", 12);
  EXPECT_TRUE(IsUtf8(cut)) << cut;
  EXPECT_EQ(cut, "aaaaaaaaaaé...");
  EXPECT_EQ(EscapeMarkup("<b>&x</b>"), "&lt;b&gt;&amp;x&lt;/b&gt;");
}

TEST(Notifier, Messages) {
  const std::string path = "/home/u/Downloads/x<b>\xff.sh";
  auto m = MessageFor({Notice::Kind::kVerdict, path, "ab", Verdict::kSuspicious}, 12, true);
  EXPECT_EQ(m.kind, "suspicious");
  EXPECT_NE(m.body.find("airlock verdicts release 12"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("x&lt;b&gt;\\xff.sh"), std::string::npos) << m.body;
  EXPECT_EQ(m.body.find("<b>"), std::string::npos) << m.body;
  EXPECT_TRUE(IsUtf8(m.summary) && IsUtf8(m.body));
  m = MessageFor({Notice::Kind::kVerdict, path, "ab", Verdict::kSuspicious}, std::nullopt, true);
  EXPECT_NE(m.body.find("airlock verdicts list"), std::string::npos) << m.body;
  m = MessageFor({Notice::Kind::kVerdict, path, "ab", Verdict::kMalicious}, 3, false);
  EXPECT_TRUE(m.critical);
  EXPECT_NE(m.body.find("monitor mode"), std::string::npos) << m.body;
  m = MessageFor({Notice::Kind::kBlocked, "/d/t", "", Verdict::kUnknown}, std::nullopt, true);
  EXPECT_EQ(m.kind, "blocked");
  EXPECT_EQ(m.category, "x-airlock.blocked");
  EXPECT_TRUE(m.critical);
  EXPECT_NE(m.body.find("few seconds"), std::string::npos) << m.body;
  m = MessageFor({Notice::Kind::kVerdict, "/d/t", "", Verdict::kClean}, std::nullopt, true);
  EXPECT_FALSE(m.critical);
  EXPECT_EQ(m.icon, "dialog-information");
}

TEST(Notifier, ConfigKeysAndFlags) {
  WatchConfig c;
  EXPECT_EQ(c.notify, NotifyLevel::kBlocked);
  EXPECT_EQ(c.notify_bus_dir, "/run/user");
  ASSERT_TRUE(ParseWatchConfig("[watch]\nnotify = \"all\"\nnotify_bus_dir = \"/b\"\n", "t.toml", c));
  EXPECT_EQ(c.notify, NotifyLevel::kAll);
  EXPECT_EQ(c.notify_bus_dir, "/b");
  ASSERT_TRUE(ApplyWatchFlags({"--notify", "off", "--notify-bus-dir", "/c"}, c));
  EXPECT_EQ(c.notify, NotifyLevel::kOff);
  EXPECT_EQ(c.notify_bus_dir, "/c");
  auto bad = ParseWatchConfig("[watch]\nnotify = \"loud\"\n", "t.toml", c);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().What().find("[watch].notify"), std::string::npos) << bad.error().What();
  auto flag = ApplyWatchFlags({"--notify", "maybe"}, c);
  ASSERT_FALSE(flag);
  EXPECT_NE(flag.error().What().find("--notify"), std::string::npos) << flag.error().What();
}

// A bus directory with a socket at <dir>/<my uid>/bus, files owned by this uid, and a stand-in sender.
class NotifierQueue : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "airlock-notifier-unit-XXXXXX").string();
    dir_ = ::mkdtemp(t.data());
    fs::create_directories(dir_ + "/bus/" + std::to_string(::getuid()));
    sock_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string p = dir_ + "/bus/" + std::to_string(::getuid()) + "/bus";
    ASSERT_LT(p.size(), sizeof a.sun_path);
    std::memcpy(a.sun_path, p.c_str(), p.size());
    ASSERT_EQ(::bind(sock_, reinterpret_cast<struct sockaddr*>(&a), sizeof a), 0);
  }
  void TearDown() override {
    ::close(sock_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string File(const std::string& name) {
    std::ofstream(dir_ + "/" + name) << "x";
    return dir_ + "/" + name;
  }
  NotifierOptions Options(const std::string& script) {
    NotifierOptions o;
    o.bus_dir = dir_ + "/bus";
    o.send_argv = {"/bin/sh", "-c", script, "sh"};
    o.log = [this](std::string l) {
      std::lock_guard lock(mu_);
      log_ += l + "\n";
    };
    return o;
  }
  std::string log() {
    std::lock_guard lock(mu_);
    return log_;
  }
  static bool WaitUntil(const std::function<bool()>& ok) {
    for (int i = 0; i < 300 && !ok(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return ok();
  }

  std::string dir_;
  int sock_ = -1;
  std::mutex mu_;
  std::string log_;
};

TEST_F(NotifierQueue, SendsRateLimitsAndCountsNoSession) {
  Notifier n(Options("exit 0"));
  const std::string f = File("a");
  n.Notify({Notice::Kind::kBlocked, f, "", Verdict::kUnknown});
  ASSERT_TRUE(WaitUntil([&] { return n.stats().sent.load() == 1; })) << log();
  EXPECT_NE(log().find("notify uid=" + std::to_string(::getuid()) + " kind=blocked path=" + f + " sent"), std::string::npos) << log();
  n.Notify({Notice::Kind::kBlocked, f, "", Verdict::kMalicious});  // same (uid, path, kind) within 10 s
  ASSERT_TRUE(WaitUntil([&] { return n.stats().rate_limited.load() == 1; }));
  n.Notify({Notice::Kind::kVerdict, f, "", Verdict::kMalicious});  // another kind: told
  ASSERT_TRUE(WaitUntil([&] { return n.stats().sent.load() == 2; })) << log();
  n.Notify({Notice::Kind::kVerdict, f, "", Verdict::kClean});  // level blocked: not queued
  n.Notify({Notice::Kind::kVerdict, dir_ + "/gone", "", Verdict::kMalicious});
  ASSERT_TRUE(WaitUntil([&] { return n.stats().failed.load() == 1; })) << log();
  EXPECT_NE(log().find("failed: cannot stat the file"), std::string::npos) << log();

  NotifierOptions o = Options("exit 0");
  o.bus_dir = dir_ + "/nobus";
  Notifier quiet(o);
  quiet.Notify({Notice::Kind::kBlocked, f, "", Verdict::kUnknown});
  ASSERT_TRUE(WaitUntil([&] { return quiet.stats().no_session.load() == 1; }));
  EXPECT_EQ(quiet.stats().sent.load(), 0u);
}

TEST_F(NotifierQueue, AFullQueueDropsAndASlowSenderIsKilled) {
  NotifierOptions o = Options("sleep 5");
  o.queue_limit = 2;
  o.send_timeout = std::chrono::milliseconds(300);
  Notifier n(o);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) n.Notify({Notice::Kind::kBlocked, File("f" + std::to_string(i)), "", Verdict::kUnknown});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(200)) << "Notify never waits";
  EXPECT_GE(n.stats().dropped.load(), 5u);
  ASSERT_TRUE(WaitUntil([&] { return n.stats().failed.load() + n.stats().dropped.load() == 8; })) << log();
  EXPECT_NE(log().find("failed: no answer within 300 ms"), std::string::npos) << log();
}

TEST_F(NotifierQueue, AFailingSenderIsLoggedWithItsError) {
  Notifier n(Options("echo 'cannot connect: no such bus' >&2; exit 1"));
  n.Notify({Notice::Kind::kBlocked, File("a"), "", Verdict::kUnknown});
  ASSERT_TRUE(WaitUntil([&] { return n.stats().failed.load() == 1; })) << log();
  EXPECT_NE(log().find("failed: exit 1: cannot connect: no such bus"), std::string::npos) << log();
}

}  // namespace
}  // namespace airlock::watch
