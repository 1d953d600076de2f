// The endpoint grading (audit/endpoint_audit.h) over status documents shaped as airlock watch writes
// them; the real daemon is graded in tests/watch/gate_test.cc (Gate.AuditGradesTheRunningDaemon).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/endpoint_audit.h"

namespace airlock::audit {
namespace {

using nlohmann::json;

json Strong() {
  return json{{"pid", 1}, {"mode", "enforce"}, {"fail_mode", "closed"}, {"interpreters", true},
              {"filesystem_marks", {"/"}}, {"mount_marks", json::array()}, {"watch", {"/home/a/Downloads"}},
              {"gate", {{"watchdog", 0}}}, {"judge", {{"failed", 0}}}, {"log_dropped", 0}};
}

std::vector<std::string> Ids(const TargetReport& r) {
  std::vector<std::string> ids;
  for (const auto& f : r.findings) ids.push_back(f.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST(EndpointAudit, NoLiveDaemonIsZero) {
  TargetReport r = GradeEndpoint("endpoint", json(), false, "no status in /x/status.json", {});
  EXPECT_EQ(r.kind, TargetKind::kEndpoint);
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"END-NO-GATE", "END-NO-JUDGE", "END-WATCH-DOWN"}));
  EXPECT_EQ(r.score, 0);
  EXPECT_EQ(r.grade, "F");
  EXPECT_EQ(r.findings[0].evidence, "no status in /x/status.json");
}

TEST(EndpointAudit, AStrongSetupPassesEveryCheck) {
  TargetReport r = GradeEndpoint("endpoint", Strong(), true, "", {"/home/a/Downloads"});
  EXPECT_TRUE(r.findings.empty()) << r.findings[0].id;
  EXPECT_EQ(r.passes.size(), 8u);
  EXPECT_EQ(r.score, 100);
}

TEST(EndpointAudit, EachWeakSettingIsAFinding) {
  json s = Strong();
  s["mode"] = "monitor";
  s["fail_mode"] = "open";
  s["interpreters"] = false;
  s["filesystem_marks"] = json::array();
  s["gate"]["watchdog"] = 3;
  s["log_dropped"] = 2;
  s["judge"]["failed"] = 1;
  TargetReport r = GradeEndpoint("endpoint", s, true, "", {"/home/a/Downloads", "/home/b/Downloads"});
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"END-DOWNLOADS-UNWATCHED", "END-FAIL-OPEN", "END-GATE-MONITOR", "END-JUDGE-FAILED",
                                              "END-LOG-DROPPED", "END-NO-INTERPRETERS", "END-NO-MARKS", "END-WATCHDOG"}));
  for (const auto& f : r.findings) {
    if (f.id == "END-DOWNLOADS-UNWATCHED") {
      EXPECT_EQ(f.evidence, "not watched: /home/b/Downloads");
    }
  }
  EXPECT_EQ(r.grade, "F");
}

// Watched directories cover their subdirectories (a watched /home/b/ covers /home/b/Downloads, not
// /home/bc/Downloads); a daemon whose directory watcher is not running watches nothing.
TEST(EndpointAudit, DownloadsAreCoveredByWatchedAncestorsOnlyWhileTheWatcherRuns) {
  json s = Strong();
  s["watch"] = {"/home/a/Downloads/", "/home/b/"};
  s["watcher"] = json::object();
  TargetReport r = GradeEndpoint("endpoint", s, true, "", {"/home/a/Downloads", "/home/b/Downloads", "/home/bc/Downloads"});
  ASSERT_EQ(Ids(r), std::vector<std::string>{"END-DOWNLOADS-UNWATCHED"});
  EXPECT_EQ(r.findings[0].evidence, "not watched: /home/bc/Downloads");
  s["watcher"] = nullptr;
  r = GradeEndpoint("endpoint", s, true, "", {"/home/a/Downloads"});
  ASSERT_EQ(Ids(r), std::vector<std::string>{"END-DOWNLOADS-UNWATCHED"});
  EXPECT_NE(r.findings[0].evidence.find("the directory watcher is not running"), std::string::npos) << r.findings[0].evidence;
}

// A missing or mistyped field reads as the weaker setting.
TEST(EndpointAudit, MistypedFieldsReadAsWeaker) {
  json s = Strong();
  s["mode"] = 1;
  s["interpreters"] = "yes";
  s.erase("fail_mode");
  s["gate"] = "lots";
  TargetReport r = GradeEndpoint("endpoint", s, true, "", {});
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"END-FAIL-OPEN", "END-GATE-MONITOR", "END-NO-INTERPRETERS"}));
}

TEST(EndpointAudit, TargetNames) {
  EXPECT_TRUE(IsEndpointTarget("endpoint"));
  EXPECT_TRUE(IsEndpointTarget("endpoint:/var/lib/airlock/watch"));
  EXPECT_FALSE(IsEndpointTarget("endpoints.toml"));
  auto relative = AuditEndpoint("endpoint:state");
  ASSERT_FALSE(relative);
  EXPECT_NE(relative.error().What().find("absolute"), std::string::npos);
  auto missing = AuditEndpoint("endpoint:/nonexistent/airlock-watch-state");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->score, 0);
  EXPECT_NE(missing->findings[0].evidence.find("no status in /nonexistent/airlock-watch-state/status.json"), std::string::npos);
}

}  // namespace
}  // namespace airlock::audit
