// `airlock check`: the host probe, human and JSON, and its exit status.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "test_env.h"

using namespace airlock::test;

TEST(Check, JsonListsEveryProbeAndTheVerdict) {
  auto r = airlock::test::Run({AirlockBin(), "check", "--json"});
  auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("checks"));
  std::set<std::string> names;
  for (const auto& c : j["checks"]) {
    names.insert(c["name"]);
    EXPECT_TRUE(c.contains("ok") && c.contains("detail") && c.contains("required")) << c.dump();
  }
  for (const char* n : {"user namespaces", "seccomp", "seccomp user notification", "landlock", "cgroup v1", "cgroup v2",
                        "cgroup limits usable", "overlayfs in user namespaces", "pidfd", "clone3", "user-mode network",
                        "fanotify", "new mount API"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  // This host runs the whole suite, so the default profile is enforceable here: exit 0.
  EXPECT_EQ(j["default_profile_enforceable"], true);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Check, HumanTableSaysWhatWillBeEnforced) {
  auto r = airlock::test::Run({AirlockBin(), "check"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("The default profile can be enforced on this host."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("landlock"), std::string::npos);
}

// Bounded by default: `airlock check` says what bounds a sandbox of this user and, without cgroup
// limits, how to get them (docs/LIMITS.md).
TEST(Check, SaysWhatBoundsASandboxAndHowToGetCgroupLimits) {
  auto r = airlock::test::Run({AirlockBin(), "check", "--json"});
  auto j = nlohmann::json::parse(r.out);
  nlohmann::json item;
  for (const auto& c : j["checks"]) {
    if (c["name"] == "cgroup limits usable") item = c;
  }
  ASSERT_TRUE(item.is_object()) << r.out;
  const std::string detail = item["detail"];
  if (item["ok"].get<bool>()) {
    EXPECT_NE(detail.find("memory and pids limits are cgroup limits"), std::string::npos) << detail;
    return;
  }
  for (const char* part : {"RLIMIT_AS", "RLIMIT_NPROC", "\"bounds\"", "systemd-run --user --scope -p Delegate=yes"}) {
    EXPECT_NE(detail.find(part), std::string::npos) << part << " missing from: " << detail;
  }
}

// --full: what each command needs beyond the kernel, each missing part with its fix. Chromium is
// looked for on PATH: with PATH emptied it is reported missing with the package to install.
TEST(Check, FullSaysWhatEachCommandNeedsAndHowToFixIt) {
  auto entry = [](const nlohmann::json& j, const std::string& needs) {
    for (const auto& c : j["commands"]) {
      if (c["needs"] == needs) return c;
    }
    return nlohmann::json();
  };
  auto r = airlock::test::Run({AirlockBin(), "check", "--full", "--json"});
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object() && j["commands"].is_array()) << r.out;
  for (const auto& c : j["commands"]) {
    EXPECT_EQ(c["ok"].get<bool>(), c["fix"].get<std::string>().empty()) << c.dump();
  }
  auto scan = entry(j, "airlock-scan");
  EXPECT_EQ(scan.value("ok", false), true) << scan.dump();  // the suite runs beside the built helpers
  auto chromium = entry(j, "Chromium");
  EXPECT_EQ(chromium.value("ok", false), ::access("/usr/bin/chromium", X_OK) == 0) << chromium.dump();

  r = airlock::test::Run({"/usr/bin/env", "PATH=/nonexistent", AirlockBin(), "check", "--full", "--json"});
  j = nlohmann::json::parse(r.out, nullptr, false);
  chromium = entry(j, "Chromium");
  EXPECT_EQ(chromium.value("ok", true), false) << chromium.dump();
  EXPECT_NE(chromium.value("fix", "").find("apt-get install chromium"), std::string::npos) << chromium.dump();
  r = airlock::test::Run({"/usr/bin/env", "PATH=/nonexistent", AirlockBin(), "check", "--full"});
  EXPECT_NE(r.out.find("fix: apt-get install chromium"), std::string::npos) << r.out;
}
