// runapi::RunRequest: the argv each consumer gets, and what the builder refuses.
#include "runapi/run_request.h"

#include <gtest/gtest.h>

namespace {

using airlock::runapi::RunRequest;
using V = std::vector<std::string>;

TEST(RunRequest, OptionsInOrderThenTheCommand) {
  auto argv = RunRequest("/bin/airlock")
                  .Profile("analysis")
                  .RoBind("/w/sample", "/sample")
                  .Bind("/w/tmp", "/tmp")
                  .Chdir("/home/sandbox")
                  .Timeout("60s")
                  .Monitor("/o/events.jsonl", true)
                  .Report("/o/run.json")
                  .SetEnv("A=1")
                  .Rlimit("as=unlimited")
                  .Memory("2g")
                  .Net("sinkhole")
                  .Command({"/bin/sh", "-c", "true"})
                  .Argv();
  ASSERT_TRUE(argv.has_value()) << argv.error().What();
  EXPECT_EQ(*argv, (V{"/bin/airlock", "run", "--profile", "analysis", "--ro-bind", "/w/sample", "/sample", "--bind", "/w/tmp",
                      "/tmp", "--chdir", "/home/sandbox", "--timeout", "60s", "--monitor", "/o/events.jsonl", "--monitor-reads",
                      "--report", "/o/run.json", "--setenv", "A=1", "--rlimit", "as=unlimited", "--memory", "2g", "--net",
                      "sinkhole", "--", "/bin/sh", "-c", "true"}));
}

// The extractor's invocation (scan/unpack/sandboxed_extractor.cc) as it was spelled by hand before.
TEST(RunRequest, ExtractorArgvUnchanged) {
  auto argv = RunRequest("/a").RoBind("/t/in", "/in").Bind("/t/out", "/out").Timeout("60s").Rlimit("fsize=65")
                  .Command({"/bin/sh", "-c", "S", "sh", "/usr/bin/7zz", "64", "10"}).Argv();
  ASSERT_TRUE(argv.has_value());
  EXPECT_EQ(*argv, (V{"/a", "run", "--ro-bind", "/t/in", "/in", "--bind", "/t/out", "/out", "--timeout", "60s", "--rlimit",
                      "fsize=65", "--", "/bin/sh", "-c", "S", "sh", "/usr/bin/7zz", "64", "10"}));
}

TEST(RunRequest, MonitorWithoutReads) {
  auto argv = RunRequest("/a").Monitor("/e").Command({"/x"}).Argv();
  ASSERT_TRUE(argv.has_value());
  EXPECT_EQ(*argv, (V{"/a", "run", "--monitor", "/e", "--", "/x"}));
}

void ExpectRejected(const RunRequest& r, const std::string& needle) {
  auto argv = r.Argv();
  ASSERT_FALSE(argv.has_value()) << "accepted: " << needle;
  EXPECT_NE(argv.error().What().find(needle), std::string::npos) << argv.error().What();
}

TEST(RunRequest, RejectsMistakes) {
  ExpectRejected(RunRequest("/a"), "no command");
  ExpectRejected(RunRequest("").Command({"/x"}), "no airlock binary");
  ExpectRejected(RunRequest("/a").Timeout("1s").Timeout("2s").Command({"/x"}), "--timeout given twice");
  ExpectRejected(RunRequest("/a").Report("/r").Report("/r2").Command({"/x"}), "--report given twice");
  ExpectRejected(RunRequest("/a").Profile("p").Profile("q").Command({"/x"}), "--profile given twice");
  ExpectRejected(RunRequest("/a").Monitor("/e").Monitor("/f").Command({"/x"}), "--monitor given twice");
  ExpectRejected(RunRequest("/a").RoBind("/h", "relative").Command({"/x"}), "not absolute");
  ExpectRejected(RunRequest("/a").Bind("", "/in").Command({"/x"}), "empty host path");
  ExpectRejected(RunRequest("/a").Chdir("here").Command({"/x"}), "--chdir");
  ExpectRejected(RunRequest("/a").SetEnv("NOVALUE").Command({"/x"}), "KEY=VALUE");
  ExpectRejected(RunRequest("/a").SetEnv("=v").Command({"/x"}), "KEY=VALUE");
  ExpectRejected(RunRequest("/a").Rlimit("fsize").Command({"/x"}), "NAME=VALUE");
  ExpectRejected(RunRequest("/a").Timeout("soon").Command({"/x"}), "not a duration");
  ExpectRejected(RunRequest("/a").Timeout("5 weeks").Command({"/x"}), "not a duration");
  ExpectRejected(RunRequest("/a").Memory("lots").Command({"/x"}), "not a size");
  ExpectRejected(RunRequest("/a").Net("internet").Command({"/x"}), "unknown mode");
  ExpectRejected(RunRequest("/a").Command({"/x"}).Command({"/y"}), "command given twice");
  // The first problem is the one reported.
  ExpectRejected(RunRequest("/a").Net("bad").Timeout("bad").Command({"/x"}), "--net");
}

TEST(RunRequest, AcceptsEveryDurationAndSizeConsumersUse) {
  for (const char* t : {"300s", "60s", "1500ms", "2m", "1h", "30"}) {
    EXPECT_TRUE(RunRequest("/a").Timeout(t).Command({"/x"}).Argv().has_value()) << t;
  }
  for (const char* m : {"2g", "1g", "512m", "4096"}) {
    EXPECT_TRUE(RunRequest("/a").Memory(m).Command({"/x"}).Argv().has_value()) << m;
  }
}

}  // namespace
