// The behaviour monitor through the real binary: events for processes, files, network and DNS, with
// Sysmon field names, as root and as an unprivileged user.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "test_env.h"

using namespace airlock::test;

namespace {

std::vector<nlohmann::json> ReadEvents(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(ReadFileOrEmpty(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

bool Has(const std::vector<nlohmann::json>& events, const std::function<bool(const nlohmann::json&)>& pred) {
  for (const auto& e : events)
    if (pred(e)) return true;
  return false;
}

}  // namespace

TEST(Monitor, RecordsProcessFileNetworkAndDnsEvents) {
  std::string dir = MakeTempDir("monitor");
  std::string events_path = dir + "/events.jsonl";
  std::string report_path = dir + "/report.json";
  const char* script =
      "echo hi > /tmp/a; mv /tmp/a /tmp/b; chmod 4755 /tmp/b; rm /tmp/b; "
      "python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
      "s.sendto(b'\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x04evil\\x07example\\x00\\x00\\x01\\x00\\x01', ('127.0.0.53', 53)); "
      "c=socket.socket(); c.settimeout(1)\ntry: c.connect(('127.0.0.1', 9))\nexcept Exception: pass\"";
  auto r = RunAirlock({"--monitor", events_path, "--report", report_path}, {"/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto events = ReadEvents(events_path);
  ASSERT_FALSE(events.empty());
  for (const auto& e : events) {
    ASSERT_TRUE(e.contains("category")) << e.dump();
    ASSERT_TRUE(e.contains("UtcTime")) << e.dump();
    ASSERT_TRUE(e.contains("ProcessId")) << e.dump();
  }
  EXPECT_TRUE(Has(events, [](const auto& e) {
    return e["category"] == "process_creation" && e["Image"] == "/usr/bin/mv" && e["CommandLine"] == "mv /tmp/a /tmp/b" &&
           e.contains("ParentImage") && e.contains("ParentProcessId") && e["CurrentDirectory"] == "/home/sandbox";
  }));
  EXPECT_TRUE(Has(events, [](const auto& e) { return e["category"] == "file_event" && e["Operation"] == "create" && e["TargetFilename"] == "/tmp/a"; }));
  EXPECT_TRUE(Has(events, [](const auto& e) {
    return e["category"] == "file_event" && e["Operation"] == "rename" && e["SourceFilename"] == "/tmp/a" && e["TargetFilename"] == "/tmp/b";
  }));
  EXPECT_TRUE(Has(events, [](const auto& e) { return e["Operation"] == "chmod" && e["Mode"] == "4755" && e["SetuidBits"] == "true"; }));
  EXPECT_TRUE(Has(events, [](const auto& e) { return e["Operation"] == "delete" && e["TargetFilename"] == "/tmp/b"; }));
  EXPECT_TRUE(Has(events, [](const auto& e) { return e["category"] == "dns_query" && e["QueryName"] == "evil.example"; }));
  EXPECT_TRUE(Has(events, [](const auto& e) {
    return e["category"] == "network_connection" && e["DestinationIp"] == "127.0.0.1" && e["DestinationPort"] == 9 && e["Protocol"] == "tcp";
  }));
  auto report = nlohmann::json::parse(ReadFileOrEmpty(report_path));
  EXPECT_EQ(report["monitor"]["dropped"], 0);
  EXPECT_EQ(report["monitor"]["events"].get<uint64_t>(), events.size());
  unlink(events_path.c_str());
  unlink(report_path.c_str());
  rmdir(dir.c_str());
}

TEST(Monitor, WorksWithEveryBuiltinProfile) {
  for (const char* profile : {"default", "workdir", "analysis"}) {
    std::string dir = MakeTempDir("monitor-profile");
    std::string events_path = dir + "/e.jsonl";
    auto r = RunAirlock({"--profile", profile, "--monitor", events_path}, {"/bin/sh", "-c", "/bin/true"});
    EXPECT_EQ(r.exit_code, 0) << profile << ": " << r.err;
    auto events = ReadEvents(events_path);
    EXPECT_TRUE(Has(events, [](const auto& e) { return e["category"] == "process_creation" && e["Image"] == "/bin/true"; })) << profile;
    unlink(events_path.c_str());
    rmdir(dir.c_str());
  }
}

TEST(Monitor, ReadOnlyOpensAndPlainModesAreReportedOnlyWithMonitorReads) {
  const char* script = "cat /etc/passwd > /dev/null; echo x > /tmp/c; chmod 640 /tmp/c; chmod 750 /tmp/c";
  auto is_read = [](const auto& e) {
    return e["category"] == "file_access" && e["Operation"] == "read" && e["TargetFilename"] == "/etc/passwd";
  };
  auto is_create = [](const auto& e) {
    return e["category"] == "file_event" && e["Operation"] == "create" && e["TargetFilename"] == "/tmp/c";
  };
  auto chmod_to = [](const char* mode) {
    return [mode](const nlohmann::json& e) { return e.value("Operation", "") == "chmod" && e["TargetFilename"] == "/tmp/c" && e["Mode"] == mode; };
  };
  for (bool reads : {false, true}) {
    std::string dir = MakeTempDir("monitor-reads");
    std::string events_path = dir + "/e.jsonl";
    std::vector<std::string> opts = {"--monitor", events_path};
    if (reads) opts.push_back("--monitor-reads");
    auto r = RunAirlock(opts, {"/bin/sh", "-c", script});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto events = ReadEvents(events_path);
    EXPECT_EQ(Has(events, is_read), reads) << "reads=" << reads;
    EXPECT_EQ(Has(events, chmod_to("640")), reads) << "reads=" << reads;
    // What makes an event worth having is reported either way.
    EXPECT_TRUE(Has(events, is_create)) << "reads=" << reads;
    EXPECT_TRUE(Has(events, chmod_to("750"))) << "reads=" << reads;
    EXPECT_TRUE(Has(events, [](const auto& e) { return e["category"] == "process_creation" && e["Image"] == "/usr/bin/cat"; }));
    unlink(events_path.c_str());
    rmdir(dir.c_str());
  }
  auto usage = RunAirlock({"--monitor-reads"}, {"/bin/true"});
  EXPECT_EQ(usage.exit_code, 121) << usage.err;
}

// Issue 17, event fidelity: the payload's first process is attributed to the sandbox's init under a
// fixed name, never to airlock on the host (its path, its argv with host paths); and a failed execve
// along PATH is no process creation (path-based rules would fire on programs that never ran).
TEST(Monitor, FirstProcessIsAttributedToTheSandboxAndFailedExecsAreNoProcesses) {
  std::string dir = MakeTempDir("monitor-fidelity");
  std::string events_path = dir + "/e.jsonl";
  // env looks the name up with execvp: one execve per PATH entry, each failing with ENOENT.
  auto r = RunAirlock({"--monitor", events_path},
                      {"/bin/sh", "-c",
                       "env airlock_no_such_tool_xyz 2>/dev/null; /bin/true; "
                       "python3 -c \"import socket; socket.socket(socket.AF_UNIX).connect_ex('/tmp/no.sock')\""});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto events = ReadEvents(events_path);
  ASSERT_FALSE(events.empty());
  const nlohmann::json* first = nullptr;
  for (const auto& e : events) {
    if (e["category"] == "process_creation") {
      first = &e;
      break;
    }
  }
  ASSERT_NE(first, nullptr);
  EXPECT_EQ((*first)["Image"], "/bin/sh") << first->dump();
  EXPECT_EQ((*first)["ParentImage"], "airlock-init") << first->dump();
  EXPECT_EQ((*first)["ParentCommandLine"], "airlock-init") << first->dump();
  const std::string text = ReadFileOrEmpty(events_path);
  const std::string bin = AirlockBin();
  EXPECT_EQ(text.find(bin.substr(0, bin.rfind('/'))), std::string::npos) << "host path of airlock in the events:\n" << text;
  EXPECT_EQ(text.find(dir), std::string::npos) << "host work path in the events:\n" << text;
  EXPECT_FALSE(Has(events, [](const auto& e) {
    return e["category"] == "process_creation" && e["Image"].template get<std::string>().find("airlock_no_such_tool_xyz") != std::string::npos;
  })) << text;
  EXPECT_TRUE(Has(events, [](const auto& e) { return e["category"] == "process_creation" && e["Image"] == "/bin/true"; })) << text;
  // A unix socket is local IPC, not a network connection (network_connection rules must not see it).
  EXPECT_TRUE(Has(events, [](const auto& e) { return e["category"] == "unix_connection" && e["DestinationUnixPath"] == "/tmp/no.sock"; })) << text;
  EXPECT_FALSE(Has(events, [](const auto& e) { return e["category"] == "network_connection" && e.contains("DestinationUnixPath"); })) << text;
  unlink(events_path.c_str());
  rmdir(dir.c_str());
}

// Issue 17, behaviour events: a script deleting itself, a backdated file time, history switched off
// or truncated, a program started under another name or renamed by prctl, LD_PRELOAD.
TEST(Monitor, MarksSelfDeleteBackdatingHistoryMasqueradeAndPreload) {
  std::string dir = MakeTempDir("monitor-evasion");
  std::string events_path = dir + "/e.jsonl";
  const char* script =
      "printf 'rm -f \"$0\"\\n' > /tmp/s.sh; sh /tmp/s.sh; rm -f /tmp/other; "
      "echo x > /tmp/t; touch -d '2010-01-01 00:00' /tmp/t; touch /tmp/t; "
      "HISTFILE=/dev/null /bin/true; : > $HOME/.bash_history; "
      "bash -c 'exec -a \"[kworker/0:1]\" /bin/true'; LD_PRELOAD=/nonexistent.so /bin/true 2>/dev/null; "
      "python3 -c \"import ctypes; ctypes.CDLL(None).prctl(15, b'kworker/1:0', 0, 0, 0)\"";
  auto r = RunAirlock({"--monitor", events_path}, {"/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto events = ReadEvents(events_path);
  const std::string text = ReadFileOrEmpty(events_path);
  auto del = [&](const char* path) {
    for (const auto& e : events)
      if (e.value("Operation", "") == "delete" && e["TargetFilename"] == path) return e.value("SelfDelete", "");
    return std::string("no delete event");
  };
  EXPECT_EQ(del("/tmp/s.sh"), "true") << text;
  EXPECT_EQ(del("/tmp/other"), "") << text;
  EXPECT_TRUE(Has(events, [](const auto& e) {
    return e.value("Operation", "") == "timestamp" && e["TargetFilename"] == "/tmp/t" && e.value("Backdated", "") == "true" &&
           e.value("CreationUtcTime", "") == "2010-01-01 00:00:00";
  })) << text;
  EXPECT_TRUE(Has(events, [](const auto& e) {
    return e["category"] == "process_creation" && e["Image"] == "/bin/true" && e.value("HistoryEnv", "").find("HISTFILE=/dev/null") != std::string::npos;
  })) << text;
  EXPECT_TRUE(Has(events, [](const auto& e) {
    return e.value("TargetFilename", "") == "/home/sandbox/.bash_history" && e.value("Truncate", "") == "true";
  })) << text;
  EXPECT_TRUE(Has(events, [](const auto& e) {
    return e["category"] == "process_creation" && e["Image"] == "/bin/true" && e.value("Argv0", "") == "[kworker/0:1]" &&
           e.value("Argv0Differs", "") == "true";
  })) << text;
  EXPECT_FALSE(Has(events, [](const auto& e) { return e.value("Argv0Differs", "") == "true" && e.value("Argv0", "") != "[kworker/0:1]"; }))
      << "argv[0] equal to the file name (through PATH, login shells) is not a difference:\n" << text;
  EXPECT_TRUE(Has(events, [](const auto& e) { return e.value("LdPreload", "") == "/nonexistent.so"; })) << text;
  EXPECT_TRUE(Has(events, [](const auto& e) { return e.value("Args", "") == "PR_SET_NAME kworker/1:0"; })) << text;
  unlink(events_path.c_str());
  rmdir(dir.c_str());
}
