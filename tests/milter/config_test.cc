#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "milter/config.h"

namespace airlock::milter {
namespace {

TEST(MilterConfig, EmptyGivesContractDefaults) {
  auto c = ParseConfig("", "empty.toml");
  ASSERT_TRUE(c) << c.error().What();
  EXPECT_EQ(c->listen, "inet:127.0.0.1:10025");
  EXPECT_EQ(c->workers, 2);
  EXPECT_EQ(c->queue, 64);
  EXPECT_EQ(c->message_budget, std::chrono::seconds(30));
  EXPECT_EQ(c->max_message_size, 50ull << 20);
  EXPECT_FALSE(c->fail_open);
  EXPECT_EQ(c->state_dir, "/var/lib/airlock");
  EXPECT_EQ(c->log, "-");
  EXPECT_FALSE(c->detonation_enabled);
  EXPECT_EQ(c->detonation_kinds, (std::vector<std::string>{"elf", "shell", "python", "perl", "browser"}));
  EXPECT_EQ(c->detonation_mode, "inline");
  EXPECT_EQ(c->detonation_timeout, std::chrono::seconds(20));
  EXPECT_EQ(c->detonation_concurrency, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(c->on_malicious, Action::kReject);
  EXPECT_EQ(c->on_suspicious, Action::kTag);
  EXPECT_EQ(c->on_clean, Action::kAccept);
  EXPECT_TRUE(c->tag_all);
  EXPECT_EQ(c->reject_reply, "5.7.1");
  EXPECT_TRUE(c->quarantine_hold);
  EXPECT_EQ(c->sendmail, "/usr/sbin/sendmail");
  EXPECT_EQ(c->postsuper, "/usr/sbin/postsuper");
}

TEST(MilterConfig, FullFileParses) {
  auto c = ParseConfig(R"(
[milter]
listen = "unix:/run/airlock/milter.sock"
workers = 4
queue = 8
message_budget = "45s"
max_message_size = "10M"
fail_open = true
state_dir = "/srv/airlock"
log = "/var/log/airlock-milter.jsonl"
[detonation]
enabled = true
kinds = ["elf", "shell"]
mode = "tempfail"
timeout = "500ms"
concurrency = 3
[actions]
malicious = "quarantine"
suspicious = "strip"
clean = "tag"
tag_all = false
reject_reply = "5.7.0"
[quarantine]
hold = false
postfix_config_dir = "/etc/postfix-test"
sendmail = "/opt/bin/sendmail"
postsuper = "/opt/bin/postsuper"
)", "full.toml");
  ASSERT_TRUE(c) << c.error().What();
  EXPECT_EQ(c->listen, "unix:/run/airlock/milter.sock");
  EXPECT_EQ(c->workers, 4);
  EXPECT_EQ(c->queue, 8);
  EXPECT_EQ(c->message_budget, std::chrono::seconds(45));
  EXPECT_EQ(c->max_message_size, 10ull << 20);
  EXPECT_TRUE(c->fail_open);
  EXPECT_EQ(c->detonation_mode, "tempfail");
  EXPECT_EQ(c->detonation_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(c->detonation_concurrency, 3);
  EXPECT_EQ(c->on_malicious, Action::kQuarantine);
  EXPECT_EQ(c->on_suspicious, Action::kStrip);
  EXPECT_EQ(c->on_clean, Action::kTag);
  EXPECT_FALSE(c->tag_all);
  EXPECT_FALSE(c->quarantine_hold);
  EXPECT_EQ(c->postfix_config_dir, "/etc/postfix-test");
}

TEST(MilterConfig, BadConfigsAreErrorsThatNameTheKey) {
  struct Case {
    const char* toml;
    const char* needle;
  } cases[] = {
      {"[milter]\nworkers = 0\n", "[milter].workers"},
      {"[milter]\nworkers = \"two\"\n", "[milter].workers"},
      {"[milter]\nmessage_budget = \"soon\"\n", "[milter].message_budget"},
      {"[milter]\nmax_message_size = \"50Q\"\n", "[milter].max_message_size"},
      {"[milter]\nlisten = \"tcp://x\"\n", "[milter].listen"},
      {"[milter]\nfail_open = \"yes\"\n", "[milter].fail_open"},
      {"[milter]\nwrokers = 2\n", "unknown key 'wrokers'"},
      {"[mail]\nx = 1\n", "unknown section 'mail'"},
      {"[actions]\nmalicious = \"bounce\"\n", "[actions].malicious"},
      {"[actions]\nclean = \"strip\"\n", "[actions].clean"},
      {"[actions]\nreject_reply = \"4.7.1\"\n", "[actions].reject_reply"},
      {"[detonation]\nmode = \"later\"\n", "[detonation].mode"},
      {"[detonation]\nkinds = [\"exe\"]\n", "[detonation].kinds"},
      {"[detonation]\nconcurrency = 0\n", "[detonation].concurrency"},
      {"[milter\nworkers = 2\n", "bad.toml:1"},
  };
  for (const auto& k : cases) {
    auto c = ParseConfig(k.toml, "bad.toml");
    ASSERT_FALSE(c) << k.toml;
    EXPECT_NE(c.error().What().find(k.needle), std::string::npos) << k.toml << " -> " << c.error().What();
    EXPECT_NE(c.error().What().find("bad.toml"), std::string::npos) << c.error().What();
  }
}

TEST(MilterConfig, MissingFileIsAnError) {
  auto c = LoadConfig("/nonexistent/airlock-milter.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().What().find("/nonexistent/airlock-milter.toml"), std::string::npos);
}

}  // namespace
}  // namespace airlock::milter
