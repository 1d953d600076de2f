// runapi::ParseRunReport: a good report, missing and mistyped fields, a future schema_version.
#include "runapi/run_report.h"

#include <gtest/gtest.h>

namespace {

using nlohmann::json;
using airlock::runapi::ParseRunReport;

json Good() {
  return json::parse(R"({
    "schema_version": 1, "status": 0, "reason": "ok", "child_exit_status": 0, "wall_seconds": 0.01,
    "cpu_seconds": {"user": 0.0, "system": 0.001}, "peak_memory_bytes": 1048576,
    "layers": [{"name": "seccomp", "engaged": true, "detail": "notify"}],
    "not_enforced": [], "weakenings": ["--net host"], "denied_syscalls": {"ptrace": 2},
    "observed_syscalls": {}, "setup_ms": {"clone": 1.5}, "launch": "warm", "warm_age_ms": 12.5,
    "monitor": {"events": 3, "dropped": 0, "lost": 0}, "network": {"mode": "sinkhole", "names": ["a\\xffb"]},
    "interrupted": true, "interrupt_signal": 2,
    "bounds": {"pids": {"limit": 1024, "enforced_by": "RLIMIT_NPROC"},
               "memory": {"limit": null, "enforced_by": "none"},
               "tmpfs": [{"path": "/tmp", "size_bytes": 67108864, "inodes": 65536, "writable": true}]}})");
}

std::string ErrorOf(const json& j) {
  auto r = ParseRunReport(j);
  return r ? std::string("(accepted)") : r.error().What();
}

TEST(RunReportReader, ReadsAGoodReport) {
  auto r = ParseRunReport(Good());
  ASSERT_TRUE(r.has_value()) << r.error().What();
  EXPECT_EQ(r->schema_version, 1);
  EXPECT_EQ(r->status, 0);
  EXPECT_EQ(r->reason, "ok");
  EXPECT_EQ(r->child_exit_status, 0);
  EXPECT_FALSE(r->child_signal.has_value());
  EXPECT_DOUBLE_EQ(r->system_cpu_seconds, 0.001);
  EXPECT_EQ(r->peak_memory_bytes, 1048576u);
  ASSERT_EQ(r->layers.size(), 1u);
  EXPECT_EQ(r->layers[0].name, "seccomp");
  EXPECT_TRUE(r->layers[0].engaged);
  EXPECT_EQ(r->weakenings, std::vector<std::string>{"--net host"});
  EXPECT_EQ(r->denied_syscalls.at("ptrace"), 2u);
  EXPECT_EQ(r->launch, "warm");
  EXPECT_EQ(r->warm_age_ms, 12.5);
  ASSERT_TRUE(r->monitor.has_value());
  EXPECT_EQ(r->monitor->events, 3u);
  EXPECT_EQ(r->network.value("mode", ""), "sinkhole");
  EXPECT_EQ(r->network["names"][0], "a\\xffb");  // a name that was not UTF-8, as the writer escapes it
  EXPECT_TRUE(r->interrupted);
  EXPECT_EQ(r->interrupt_signal, 2);
  ASSERT_TRUE(r->bounds.has_value());
  EXPECT_EQ(r->bounds->pids.limit, 1024);
  EXPECT_EQ(r->bounds->pids.enforced_by, "RLIMIT_NPROC");
  EXPECT_FALSE(r->bounds->memory.limit.has_value());
  EXPECT_FALSE(r->bounds->cpu.has_value());
  ASSERT_EQ(r->bounds->tmpfs.size(), 1u);
  EXPECT_EQ(r->bounds->tmpfs[0].path, "/tmp");
  EXPECT_EQ(r->bounds->tmpfs[0].inodes, 65536u);
}

TEST(RunReportReader, BoundsErrorsAreNamed) {
  json j = Good();
  j["bounds"]["pids"]["enforced_by"] = "hope";
  EXPECT_EQ(ErrorOf(j), "run report: field 'bounds.pids.enforced_by': unknown value 'hope'");
  j = Good();
  j["bounds"].erase("memory");
  EXPECT_EQ(ErrorOf(j), "run report: field 'bounds.memory': missing");
  j = Good();
  j["bounds"]["tmpfs"][0]["inodes"] = -1;
  EXPECT_EQ(ErrorOf(j), "run report: bounds.tmpfs[]: field 'bounds.tmpfs[].inodes': expected a non-negative integer, got number");
  j = Good();
  j["bounds"]["pids"]["limit"] = "many";
  EXPECT_EQ(ErrorOf(j), "run report: field 'bounds.pids.limit': expected a number, got string");
}

TEST(RunReportReader, OptionalFieldsMayBeAbsentAndPeakMemoryNull) {
  json j = Good();
  for (const char* k : {"child_exit_status", "warm_age_ms", "monitor", "network", "interrupted", "interrupt_signal", "bounds"}) j.erase(k);
  j["peak_memory_bytes"] = nullptr;
  j["launch"] = "cold";
  auto r = ParseRunReport(j);
  ASSERT_TRUE(r.has_value()) << r.error().What();
  EXPECT_FALSE(r->peak_memory_bytes.has_value());
  EXPECT_FALSE(r->monitor.has_value());
  EXPECT_TRUE(r->network.is_null());
  EXPECT_FALSE(r->interrupted);  // a report of an older airlock
  EXPECT_FALSE(r->interrupt_signal.has_value());
  EXPECT_FALSE(r->bounds.has_value());
}

TEST(RunReportReader, MissingFieldsAreNamed) {
  for (const char* k : {"schema_version", "status", "reason", "wall_seconds", "cpu_seconds", "peak_memory_bytes", "layers",
                        "not_enforced", "weakenings", "denied_syscalls", "observed_syscalls", "setup_ms", "launch"}) {
    json j = Good();
    j.erase(k);
    EXPECT_EQ(ErrorOf(j), "run report: field '" + std::string(k) + "': missing") << k;
  }
  json j = Good();
  j["monitor"].erase("lost");
  EXPECT_EQ(ErrorOf(j), "run report: monitor: field 'lost': missing");
  j = Good();
  j["layers"][0].erase("engaged");
  EXPECT_EQ(ErrorOf(j), "run report: field 'engaged': missing");
}

TEST(RunReportReader, WrongTypesAreNamed) {
  json j = Good();
  j["status"] = "0";
  EXPECT_EQ(ErrorOf(j), "run report: field 'status': expected an integer, got string");
  j = Good();
  j["wall_seconds"] = "fast";
  EXPECT_EQ(ErrorOf(j), "run report: field 'wall_seconds': expected a number, got string");
  j = Good();
  j["layers"][0]["engaged"] = "yes";
  EXPECT_EQ(ErrorOf(j), "run report: field 'layers[].engaged': expected a boolean, got string");
  j = Good();
  j["denied_syscalls"]["ptrace"] = -1;
  EXPECT_EQ(ErrorOf(j), "run report: field 'denied_syscalls.ptrace': expected a non-negative integer, got number");
  j = Good();
  j["weakenings"] = json::array({1});
  EXPECT_EQ(ErrorOf(j), "run report: field 'weakenings': expected an array of strings, got number");
  j = Good();
  j["reason"] = "exploded";
  EXPECT_EQ(ErrorOf(j), "run report: field 'reason': unknown value 'exploded'");
  j = Good();
  j["interrupted"] = "yes";
  EXPECT_EQ(ErrorOf(j), "run report: field 'interrupted': expected a boolean, got string");
  j = Good();
  j["launch"] = "lukewarm";
  EXPECT_EQ(ErrorOf(j), "run report: field 'launch': unknown value 'lukewarm'");
  EXPECT_EQ(ErrorOf(json::array()), "run report: expected an object, got array");
  auto text = ParseRunReport(std::string_view("{not json"));
  ASSERT_FALSE(text.has_value());
  EXPECT_EQ(text.error().What(), "run report: not valid JSON");
}

TEST(RunReportReader, RefusesAFutureOrBogusSchemaVersion) {
  json j = Good();
  j["schema_version"] = airlock::runapi::kRunReportSchemaVersion + 1;
  EXPECT_NE(ErrorOf(j).find("schema_version 3 is newer than this reader (2)"), std::string::npos) << ErrorOf(j);
  j["schema_version"] = 0;
  EXPECT_EQ(ErrorOf(j), "run report: field 'schema_version': 0 is not a schema version");
  j["schema_version"] = "1";
  EXPECT_EQ(ErrorOf(j), "run report: field 'schema_version': expected an integer, got string");
}

}  // namespace
