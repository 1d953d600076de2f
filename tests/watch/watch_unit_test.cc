// Pure parts of airlock watch: decision cache, trust policy (dpkg, allow-list, classification),
// trust database (release rules, corruption), process facts, configuration, verdict parsing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "process/proc_stat.h"
#include "watch/decision_cache.h"
#include "watch/dir_watcher.h"
#include "watch/file_hash.h"
#include "watch/judge.h"
#include "watch/process_info.h"
#include "watch/trust_db.h"
#include "watch/trust_policy.h"
#include "watch/watch_config.h"

namespace airlock::watch {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "airlock-watch-unit-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(DecisionCache, KeyedByDeviceInodeAndChangeTime) {
  DecisionCache cache(4);
  cache.Put({1, 2, 100}, {Basis::kContent, "aa", false});
  ASSERT_TRUE(cache.Find({1, 2, 100}).has_value());
  EXPECT_EQ(cache.Find({1, 2, 100})->sha256, "aa");
  EXPECT_FALSE(cache.Find({1, 2, 101}).has_value()) << "a changed ctime is a different version of the file";
  EXPECT_FALSE(cache.Find({1, 3, 100}).has_value());
  EXPECT_FALSE(cache.Find({2, 2, 100}).has_value());
}

TEST(DecisionCache, BoundedByClearingWhenFull) {
  DecisionCache cache(3);
  for (uint64_t i = 0; i < 3; ++i) cache.Put({1, i, 0}, {});
  EXPECT_EQ(cache.Size(), 3u);
  cache.Put({1, 99, 0}, {});
  EXPECT_EQ(cache.Size(), 1u);
  EXPECT_TRUE(cache.Find({1, 99, 0}).has_value());
}

TEST(TrustPolicy, Md5sumsAndListsWithMergedUsr) {
  PathAliases aliases = {{"/bin/", "/usr/bin/"}, {"/lib64/", "/usr/lib64/"}};
  DpkgIndex idx;
  ParseMd5sums("0123456789abcdef0123456789ABCDEF  bin/sh\n"
               "short  usr/bin/x\n"
               "0123456789abcdef0123456789abcdef  usr/bin/true\n"
               "zz23456789abcdef0123456789abcdef  usr/bin/bad\n",
               aliases, idx);
  ParseList("/.\n/etc\n/etc/foo.conf\n/bin/sh\n", aliases, idx);
  ASSERT_EQ(idx.md5.size(), 2u);
  EXPECT_EQ(idx.md5.at("/usr/bin/sh"), "0123456789abcdef0123456789abcdef") << "lower-cased, /bin canonicalised";
  EXPECT_TRUE(idx.md5.contains("/usr/bin/true"));
  EXPECT_TRUE(idx.listed.contains("/etc/foo.conf"));
  EXPECT_TRUE(idx.listed.contains("/usr/bin/sh"));
  EXPECT_EQ(CanonicalPath("/lib64/ld-linux-x86-64.so.2", aliases), "/usr/lib64/ld-linux-x86-64.so.2");
  EXPECT_EQ(CanonicalPath("/binary", aliases), "/binary");
}

// dpkg-divert moves another package's file aside: libpq-dev's /usr/bin/pg_config is installed as
// /usr/bin/pg_config.libpq-dev when postgresql-common diverts it. The moved file is still dpkg's
// (verified by libpq-dev's MD5), the diverting package's own file keeps the original path.
TEST(TrustPolicy, DivertedFilesAreWhereDpkgPutThem) {
  DpkgIndex idx;
  ParseDiversions("/usr/bin/pg_config\n/usr/bin/pg_config.libpq-dev\npostgresql-common\n/usr/bin/x\n", {}, idx);
  ASSERT_EQ(idx.diversions.size(), 1u) << "the incomplete second group is ignored";
  const std::string libpq(32, 'a'), common(32, 'b');
  ParseMd5sums(libpq + "  usr/bin/pg_config\n", {}, idx, "libpq-dev");
  ParseMd5sums(common + "  usr/bin/pg_config\n", {}, idx, "postgresql-common");
  ParseList("/usr/bin/pg_config\n", {}, idx, "libpq-dev");
  EXPECT_EQ(idx.md5["/usr/bin/pg_config.libpq-dev"], libpq);
  EXPECT_EQ(idx.md5["/usr/bin/pg_config"], common);
  EXPECT_TRUE(idx.listed.contains("/usr/bin/pg_config.libpq-dev"));
}

TEST(TrustPolicy, LoadsTheRealDpkgDatabaseWhenPresent) {
  if (!fs::is_directory("/var/lib/dpkg/info")) GTEST_SKIP() << "no dpkg database here (/var/lib/dpkg/info)";
  auto idx = LoadDpkgIndex("/var/lib/dpkg/info", MergedUsrAliases("/"));
  ASSERT_TRUE(idx) << idx.error().What();
  EXPECT_GT(idx->packages, 10u);
  EXPECT_TRUE(idx->md5.contains("/usr/bin/dash") || idx->md5.contains("/usr/bin/bash")) << "a shell is dpkg's";
  EXPECT_FALSE(LoadDpkgIndex("/nonexistent/dpkg/info", {}).has_value());
}

TEST(TrustPolicy, AllowEntries) {
  AllowList a;
  EXPECT_TRUE(AddAllowEntry(a, "/opt/tools/", {}));
  EXPECT_TRUE(AddAllowEntry(a, "/usr/local/bin/x", {}));
  EXPECT_TRUE(AddAllowEntry(a, "sha256:" + std::string(64, 'A'), {}));
  EXPECT_TRUE(a.sha256.contains(std::string(64, 'a')));
  EXPECT_FALSE(AddAllowEntry(a, "relative/path", {}));
  EXPECT_FALSE(AddAllowEntry(a, "/opt/../etc/", {}));
  EXPECT_FALSE(AddAllowEntry(a, "sha256:abc", {}));
  EXPECT_TRUE(UnderAny(a.dirs, "/opt/tools/bin/t"));
  EXPECT_FALSE(UnderAny(a.dirs, "/opt/toolsx/t")) << "a directory entry ends in '/': no prefix confusion";
}

TEST(TrustPolicy, Classification) {
  DpkgIndex dpkg;
  dpkg.md5["/usr/bin/true"] = std::string(32, '0');
  dpkg.listed.insert("/etc/init.d/x");
  AllowList allow;
  ASSERT_TRUE(AddAllowEntry(allow, "/opt/tools/", {}));
  std::vector<std::string> watched = {"/home/u/Downloads/"};
  using K = Classification::Kind;
  EXPECT_EQ(Classify({"/usr/bin/true", false, true}, dpkg, allow, watched).kind, K::kVerifyMd5);
  EXPECT_EQ(Classify({"/etc/init.d/x", false, true}, dpkg, allow, watched).kind, K::kTrusted);
  EXPECT_EQ(Classify({"/etc/init.d/x", false, false}, dpkg, allow, watched).kind, K::kContent) << "a writable conffile is judged by content";
  EXPECT_EQ(Classify({"/opt/tools/t", false, false}, dpkg, allow, watched).kind, K::kTrusted);
  EXPECT_EQ(Classify({"/opt/tools/t", true, false}, dpkg, allow, watched).kind, K::kContent) << "an origin xattr beats a path allow-list";
  auto dl = Classify({"/home/u/Downloads/a.sh", false, false}, dpkg, allow, watched);
  EXPECT_EQ(dl.kind, K::kContent);
  EXPECT_TRUE(dl.watched);
  EXPECT_EQ(Classify({"/srv/x", false, true}, dpkg, allow, watched).kind, K::kContent);
}

TEST(TrustPolicy, OnlyCleanAndReleasedRun) {
  EXPECT_TRUE(VerdictAllowsRun(Verdict::kClean));
  EXPECT_TRUE(VerdictAllowsRun(Verdict::kReleased));
  EXPECT_FALSE(VerdictAllowsRun(Verdict::kSuspicious));
  EXPECT_FALSE(VerdictAllowsRun(Verdict::kMalicious));
  EXPECT_FALSE(VerdictAllowsRun(Verdict::kUnknown));
  EXPECT_EQ(ParseVerdict("whatever"), Verdict::kUnknown);
}

TEST(TrustDb, PutGetAndReleaseRules) {
  TempDir dir;
  auto opened = TrustDb::Open(dir.path() + "/trust.sqlite");
  ASSERT_TRUE(opened) << opened.error().What();
  EXPECT_FALSE(opened->recovered);
  TrustDb& db = *opened->db;
  const std::string s1(64, '1'), s2(64, '2'), s3(64, '3');
  ASSERT_TRUE(db.Put({0, s1, Verdict::kSuspicious, 5, "{}", "/dl/a", 0, 0}));
  ASSERT_TRUE(db.Put({0, s2, Verdict::kMalicious, 9, "{}", "/dl/b", 0, 0}));
  ASSERT_TRUE(db.Put({0, s3, Verdict::kClean, 0, "{}", "/dl/c", 0, 0}));
  auto all = db.All();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_FALSE(db.Release(std::to_string((*all)[1].id))) << "malicious is never released";
  EXPECT_FALSE(db.Release(s3)) << "only suspicious can be released";
  EXPECT_FALSE(db.Release("999"));
  auto rel = db.Release(std::to_string((*all)[0].id));
  ASSERT_TRUE(rel) << rel.error().What();
  EXPECT_EQ(db.Get(s1)->verdict, Verdict::kReleased);
  ASSERT_TRUE(db.Put({0, s1, Verdict::kClean, 0, "{}", "/dl/a2", 0, 0}));
  EXPECT_EQ(db.Get(s1)->id, (*all)[0].id) << "a new verdict keeps the row's id";
  EXPECT_EQ(db.Get(s1)->path, "/dl/a2");
}

TEST(TrustDb, CorruptedDatabaseIsMovedAsideAndStartsEmpty) {
  TempDir dir;
  const std::string path = dir.path() + "/trust.sqlite";
  {
    std::ofstream f(path);
    f << std::string(8192, 'x');
  }
  auto opened = TrustDb::Open(path);
  ASSERT_TRUE(opened) << opened.error().What();
  EXPECT_TRUE(opened->recovered);
  EXPECT_TRUE(fs::exists(opened->moved_to));
  auto all = opened->db->All();
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
  EXPECT_FALSE(TrustDb::OpenExisting(dir.path() + "/missing.sqlite")) << "the CLI never creates a database";
}

TEST(ProcessInfo, InterpretersAndLoaders) {
  for (const char* p : {"/usr/bin/bash", "/usr/bin/dash", "/usr/bin/python3.11", "/usr/bin/perl5.36.0", "/usr/bin/perl",
                        "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/usr/bin/busybox", "/usr/bin/node"}) {
    EXPECT_TRUE(IsInterpreterPath(p)) << p;
  }
  for (const char* p : {"/usr/bin/cat", "/usr/bin/ld", "/usr/bin/ld.bfd", "/usr/bin/less", "/usr/bin/shred", "/usr/bin/pythonic-not"}) {
    if (std::string(p) == "/usr/bin/pythonic-not") continue;  // a python* name counts (python3.11, python3-dbg)
    EXPECT_FALSE(IsInterpreterPath(p)) << p;
  }
}

TEST(ProcessInfo, ParentFromStat) {
  EXPECT_EQ(ParsePpid("123 (bash) S 45 123 123 0 -1"), 45);
  EXPECT_EQ(ParsePpid("123 (a) b) (c) R 7 1 1"), 7) << "the command name may hold ') '";
  EXPECT_EQ(ParsePpid("garbage"), -1);
  EXPECT_TRUE(IsSelfOrDescendant(::getpid(), ::getpid()));
  EXPECT_TRUE(IsSelfOrDescendant(::getpid(), ::getppid()));
  EXPECT_FALSE(IsSelfOrDescendant(::getppid(), ::getpid()));
}

TEST(WatchConfig, TomlAndFlags) {
  WatchConfig c;
  ASSERT_TRUE(ParseWatchConfig("[watch]\nmode = \"enforce\"\nfail_mode = \"open\"\ndecision_timeout_ms = 250\n"
                               "watch = [\"/srv/in\"]\nallow = [\"/opt/x/\"]\nconcurrency = 3\ndetonate = false\n",
                               "t.toml", c));
  EXPECT_EQ(c.gate.mode, GateMode::kEnforce);
  EXPECT_EQ(c.gate.fail_mode, FailMode::kOpen);
  EXPECT_EQ(c.gate.decision_timeout.count(), 250);
  EXPECT_EQ(c.watch_dirs, std::vector<std::string>{"/srv/in/"});
  EXPECT_EQ(c.concurrency, 3);
  EXPECT_FALSE(c.detonate);
  ASSERT_TRUE(ApplyWatchFlags({"--monitor", "--mark-fs", "/mnt/t", "--fail-mode", "closed"}, c));
  EXPECT_EQ(c.gate.mode, GateMode::kMonitor);
  EXPECT_EQ(c.gate.fail_mode, FailMode::kClosed);
  EXPECT_EQ(c.gate.filesystem_marks, std::vector<std::string>{"/mnt/t"});
  WatchConfig d;
  EXPECT_FALSE(ParseWatchConfig("[watch]\nmodee = \"enforce\"\n", "t.toml", d)) << "a typo is an error";
  EXPECT_FALSE(ParseWatchConfig("[watch]\nfail_mode = \"maybe\"\n", "t.toml", d));
  EXPECT_FALSE(ParseWatchConfig("[other]\n", "t.toml", d));
  EXPECT_FALSE(ApplyWatchFlags({"--decision-timeout", "0"}, d));
  EXPECT_FALSE(ApplyWatchFlags({"--bogus"}, d));
  EXPECT_FALSE(ApplyWatchFlags({"--watch"}, d));
  WatchConfig e;
  ASSERT_TRUE(ApplyWatchFlags({"--watch-flat", "/var/tmp", "--watch", "/srv/dl", "--queue-limit", "9", "--max-file-size-mb", "2",
                               "--watch-max-dirs", "10", "--no-start-sweep"}, e));
  EXPECT_EQ(e.watch_flat, std::vector<std::string>{"/var/tmp/"});
  EXPECT_EQ(e.watch_dirs, std::vector<std::string>{"/srv/dl/"});
  EXPECT_EQ(e.queue_limit, 9u);
  EXPECT_EQ(e.max_file_size, 2ull << 20);
  EXPECT_EQ(e.watch_max_dirs, 10u);
  EXPECT_FALSE(e.sweep_at_start);
  EXPECT_EQ(e.watch_flat_subdirs, (std::vector<std::string>{"mozilla_*", "evolution-*"})) << "the defaults";
  ASSERT_TRUE(ApplyWatchFlags({"--watch-flat-subdir", "kmail-*"}, e));
  EXPECT_EQ(e.watch_flat_subdirs, std::vector<std::string>{"kmail-*"}) << "configured: the defaults replaced";
  EXPECT_FALSE(ApplyWatchFlags({"--watch-flat-subdir", "a/b"}, e));
  EXPECT_FALSE(ApplyWatchFlags({"--queue-limit", "0"}, e));
  EXPECT_FALSE(ParseWatchConfig("[watch]\nsweep_at_start = \"yes\"\n", "t.toml", e)) << "true or false only";
}

TEST(WatchConfig, DefaultsStated) {
  WatchConfig c;
  EXPECT_EQ(c.gate.mode, GateMode::kMonitor) << "a fresh install only logs";
  EXPECT_EQ(c.gate.fail_mode, FailMode::kClosed);
  FillDefaults(c);
  EXPECT_FALSE(c.gate.filesystem_marks.empty());
  EXPECT_EQ(c.gate.filesystem_marks.front(), "/");
  EXPECT_TRUE(c.sweep_at_start);
  if (fs::is_directory("/tmp")) {
    EXPECT_EQ(c.watch_flat, std::vector<std::string>{"/tmp/"}) << "/tmp: its own entries, not every tree below it";
    EXPECT_EQ(std::count(c.watch_dirs.begin(), c.watch_dirs.end(), "/tmp/"), 0);
  }
}

TEST(DirWatcher, AVerdictXattrIsCurrentOnlyWhenWrittenAfterTheContent) {
  using airlock::watch::VerdictXattrIsCurrent;
  EXPECT_TRUE(VerdictXattrIsCurrent("clean sha256:ab12 1700000010", 1700000000));
  EXPECT_FALSE(VerdictXattrIsCurrent("clean sha256:ab12 1700000000", 1700000000)) << "same second: the write may be newer";
  EXPECT_FALSE(VerdictXattrIsCurrent("clean sha256:ab12 1699999999", 1700000000));
  EXPECT_FALSE(VerdictXattrIsCurrent("clean ab12 1700000010", 1700000000));
  EXPECT_FALSE(VerdictXattrIsCurrent("clean sha256:ab12 17x", 0));
  EXPECT_FALSE(VerdictXattrIsCurrent("", 0));
  EXPECT_FALSE(VerdictXattrIsCurrent("clean", 0));
}

TEST(Judge, VerdictOfReports) {
  double score = -1;
  EXPECT_EQ(VerdictOfReport(R"({"verdict":"malicious","score":9})", &score), Verdict::kMalicious);
  EXPECT_EQ(score, 9);
  EXPECT_EQ(VerdictOfReport(R"({"verdict":"released"})", nullptr), Verdict::kUnknown) << "no report may release";
  EXPECT_EQ(VerdictOfReport("not json", nullptr), Verdict::kUnknown);
  // A scan that could not judge the file (issue 18: verdict "error", e.g. the staged copy unreadable)
  // leaves it unknown, so it is not trusted: the gate refuses it in enforce mode.
  const char* unjudged = R"({"schema_version":2,"tool":"airlock","command":"scan","verdict":"error","score":0.0,
                             "objects":[],"errors":[{"input":"/in/sample","error":"open: Permission denied","verdict":"error"}]})";
  EXPECT_EQ(VerdictOfReport(unjudged, nullptr), Verdict::kUnknown);
  EXPECT_FALSE(VerdictAllowsRun(VerdictOfReport(unjudged, nullptr)));
  EXPECT_EQ(VerdictOfReport(R"({"score":0.0})", nullptr), Verdict::kUnknown) << "no verdict is no trust";
  EXPECT_EQ(VerdictOfReport("[]", nullptr), Verdict::kUnknown);
  EXPECT_EQ(WorstVerdict(Verdict::kClean, Verdict::kSuspicious), Verdict::kSuspicious);
  EXPECT_EQ(WorstVerdict(Verdict::kMalicious, Verdict::kClean), Verdict::kMalicious);
}

TEST(FileHash, Sha256AndMd5) {
  TempDir dir;
  const std::string p = dir.path() + "/f";
  {
    std::ofstream f(p);
    f << "abc";
  }
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(*Sha256OfFd(fd), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(*Md5OfFd(fd), "900150983cd24fb0d6963f7d28e17f72");
  ::close(fd);
  EXPECT_EQ(Sha256OfBytes("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace airlock::watch
