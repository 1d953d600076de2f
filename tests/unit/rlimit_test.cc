// rlimit: parsing, fallbacks, and applying in a forked child (checked with getrlimit there).
#include "rlimit/rlimit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace airlock {
namespace {

const PreparedRlimit* Find(const std::vector<PreparedRlimit>& v, int resource) {
  for (const auto& p : v) {
    if (p.resource == resource) return &p;
  }
  return nullptr;
}

TEST(RlimitParse, PlainNumberSetsBoth) {
  auto e = ParseRlimitSpec("nofile=1024");
  ASSERT_TRUE(e) << e.error().What();
  EXPECT_EQ(e->name, "nofile");
  EXPECT_EQ(e->soft, 1024u);
  EXPECT_EQ(e->hard, 1024u);
}

TEST(RlimitParse, SoftHard) {
  auto e = ParseRlimitSpec("nofile=256:4096");
  ASSERT_TRUE(e) << e.error().What();
  EXPECT_EQ(e->soft, 256u);
  EXPECT_EQ(e->hard, 4096u);
}

TEST(RlimitParse, Unlimited) {
  auto e = ParseRlimitSpec("stack=8M:unlimited");
  ASSERT_TRUE(e) << e.error().What();
  EXPECT_EQ(e->soft, 8u << 20);
  EXPECT_EQ(e->hard, static_cast<uint64_t>(RLIM_INFINITY));
  auto u = ParseRlimitValue("unlimited");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->soft, static_cast<uint64_t>(RLIM_INFINITY));
}

TEST(RlimitParse, SizeSuffixes) {
  EXPECT_EQ(ParseRlimitValue("64M")->soft, 64ull << 20);
  EXPECT_EQ(ParseRlimitValue("64m")->soft, 64ull << 20);
  EXPECT_EQ(ParseRlimitValue("2K")->soft, 2048ull);
  EXPECT_EQ(ParseRlimitValue("1G")->soft, 1ull << 30);
  EXPECT_EQ(ParseRlimitValue("1GiB")->soft, 1ull << 30);
  EXPECT_EQ(ParseRlimitValue("3T")->soft, 3ull << 40);
}

TEST(RlimitParse, RejectsBadInput) {
  for (const char* bad : {"nofile", "nofile=", "nofile=abc", "nofile=-1", "nofile=10X", "nofile=1:", "nofile=:1",
                          "nofile=20:10", "nofile=99999999999999999999", "nofile=17179869184T", "bogus=1",
                          "nofile=18446744073709551615", "=5", "nofile=1MM"}) {
    EXPECT_FALSE(ParseRlimitSpec(bad)) << bad;
  }
}

TEST(RlimitParse, AllDocumentedNamesKnown) {
  for (const char* n : {"nofile", "nproc", "as", "core", "fsize", "cpu", "stack", "memlock", "data", "rss", "msgqueue",
                        "nice", "rtprio", "sigpending", "locks"}) {
    EXPECT_GE(RlimitResourceByName(n), 0) << n;
  }
  EXPECT_EQ(RlimitResourceByName("NOFILE"), -1);
}

TEST(RlimitPrepare, CoreDefaultsToZero) {
  auto p = PrepareRlimits(Limits{}, {});
  ASSERT_TRUE(p) << p.error().What();
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ((*p)[0].resource, RLIMIT_CORE);
  EXPECT_EQ((*p)[0].value.rlim_cur, 0u);
  EXPECT_EQ((*p)[0].value.rlim_max, 0u);
}

TEST(RlimitPrepare, ExplicitCoreWins) {
  Limits l;
  l.rlimits.push_back({"core", 4096, 8192});
  auto p = PrepareRlimits(l, {});
  ASSERT_TRUE(p);
  auto* core = Find(*p, RLIMIT_CORE);
  ASSERT_NE(core, nullptr);
  EXPECT_EQ(core->value.rlim_cur, 4096u);
  EXPECT_EQ(core->value.rlim_max, 8192u);
}

TEST(RlimitPrepare, FallbacksMapMemoryAndPids) {
  Limits l;
  l.memory_bytes = 256ull << 20;
  l.pids = 64;
  l.cpus = 0.5;
  auto p = PrepareRlimits(l, {"memory", "pids", "cpu"});
  ASSERT_TRUE(p) << p.error().What();
  auto* as = Find(*p, RLIMIT_AS);
  ASSERT_NE(as, nullptr);
  EXPECT_EQ(as->value.rlim_cur, 256ull << 20);
  auto* nproc = Find(*p, RLIMIT_NPROC);
  ASSERT_NE(nproc, nullptr);
  EXPECT_EQ(nproc->value.rlim_max, 64u);
  EXPECT_EQ(p->size(), 3u);  // as, nproc, core; cpu adds nothing
}

TEST(RlimitPrepare, NoFallbackWithoutLimitOrListing) {
  Limits l;
  l.memory_bytes = 1 << 20;
  auto p = PrepareRlimits(l, {});  // the cgroup enforced memory: no fallback
  ASSERT_TRUE(p);
  EXPECT_EQ(Find(*p, RLIMIT_AS), nullptr);
  Limits none;  // bounded by default (policy.h): lift both
  none.memory_bytes.reset();
  none.pids.reset();
  auto q = PrepareRlimits(none, {"memory", "pids"});  // listed but not set
  ASSERT_TRUE(q);
  EXPECT_EQ(Find(*q, RLIMIT_AS), nullptr);
  EXPECT_EQ(Find(*q, RLIMIT_NPROC), nullptr);
}

TEST(RlimitPrepare, ExplicitBeatsFallbackAndLastWins) {
  Limits l;
  l.memory_bytes = 1ull << 30;
  l.rlimits.push_back({"as", 100, 200});
  l.rlimits.push_back({"as", 300, 400});
  auto p = PrepareRlimits(l, {"memory"});
  ASSERT_TRUE(p);
  auto* as = Find(*p, RLIMIT_AS);
  ASSERT_NE(as, nullptr);
  EXPECT_EQ(as->value.rlim_cur, 300u);
  EXPECT_EQ(as->value.rlim_max, 400u);
}

TEST(RlimitPrepare, RejectsUnknownNamesAndInvertedEntries) {
  Limits l;
  l.rlimits.push_back({"nosuch", 1, 1});
  EXPECT_FALSE(PrepareRlimits(l, {}));
  Limits m;
  m.rlimits.push_back({"nofile", 10, 5});
  EXPECT_FALSE(PrepareRlimits(m, {}));
  EXPECT_FALSE(PrepareRlimits(Limits{}, {"disk"}));
}

#ifdef __SANITIZE_ADDRESS__
constexpr bool kAsan = true;  // ASan reserves terabytes of shadow memory: RLIMIT_AS would kill it
#else
constexpr bool kAsan = false;
#endif

// Applies in a forked child and reports getrlimit() there through the exit code.
TEST(RlimitApply, AppliedInForkedChild) {
  if (kAsan) std::fprintf(stderr, "NOTE: RLIMIT_AS part skipped under AddressSanitizer\n");
  Limits l;
  l.rlimits.push_back({"nofile", 64, 128});
  l.rlimits.push_back({"fsize", 1 << 20, 2 << 20});
  if (!kAsan) l.memory_bytes = 512ull << 20;
  auto p = PrepareRlimits(l, {"memory"});
  ASSERT_TRUE(p) << p.error().What();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (ApplyRlimitsInChild(*p) != 0) _exit(10);
    struct rlimit r {};
    if (getrlimit(RLIMIT_NOFILE, &r) || r.rlim_cur != 64 || r.rlim_max != 128) _exit(11);
    if (getrlimit(RLIMIT_FSIZE, &r) || r.rlim_cur != (1u << 20) || r.rlim_max != (2u << 20)) _exit(12);
    if (getrlimit(RLIMIT_CORE, &r) || r.rlim_cur != 0 || r.rlim_max != 0) _exit(14);
    if (kAsan) _exit(0);
    if (getrlimit(RLIMIT_AS, &r) || r.rlim_cur != (512ull << 20)) _exit(13);
    // The limit bites: a 1 GiB mapping fails under a 512 MiB address-space limit.
    void* big = malloc(1ull << 30);
    _exit(big == nullptr ? 0 : 15);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(RlimitApply, ImpossibleRaiseReportsErrno) {
  // Raising a hard limit needs CAP_SYS_RESOURCE; the error comes back as -errno.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    struct rlimit low {16, 16};
    if (setrlimit(RLIMIT_NOFILE, &low)) _exit(20);
    std::vector<PreparedRlimit> raise(1);
    raise[0].resource = RLIMIT_NOFILE;
    raise[0].value = {64, 64};
    int rc = ApplyRlimitsInChild(raise);
    // With CAP_SYS_RESOURCE the raise works; without it the call reports -EPERM and changes nothing.
    struct rlimit now {};
    if (getrlimit(RLIMIT_NOFILE, &now)) _exit(21);
    if (rc == 0) _exit(now.rlim_max == 64 ? 0 : 22);
    _exit(rc == -EPERM && now.rlim_max == 16 ? 0 : 23);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace airlock
