#include <gtest/gtest.h>

#include <filesystem>

#include "milter/verdict_cache.h"
#include "test_env.h"

namespace airlock::milter {
namespace {

TEST(VerdictCache, RoundTripAndPersistenceAcrossReopen) {
  std::string dir = airlock::test::MakeTempDir("milter-cache");
  std::string path = dir + "/cache.sqlite";
  std::string sha(64, 'a');
  {
    auto c = VerdictCache::Open(path, "1.0");
    ASSERT_TRUE(c) << c.error().What();
    EXPECT_FALSE((*c)->Get("detonation", sha));
    ASSERT_TRUE((*c)->Put("detonation", sha, CacheEntry{"malicious", 8.5, R"({"techniques":["T1059.004"]})", 0}));
    auto e = (*c)->Get("detonation", sha);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->verdict, "malicious");
    EXPECT_DOUBLE_EQ(e->score, 8.5);
    EXPECT_GT(e->time, 0);
    EXPECT_FALSE((*c)->Get("message", sha)) << "kinds are separate key spaces";
    // Overwrite.
    ASSERT_TRUE((*c)->Put("detonation", sha, CacheEntry{"clean", 0, "{}", 0}));
    EXPECT_EQ((*c)->Get("detonation", sha)->verdict, "clean");
    ASSERT_TRUE((*c)->Put("message", sha, CacheEntry{"suspicious", 4, "{\"x\":1}", 0}));
  }
  {
    auto c = VerdictCache::Open(path, "1.0");  // a restarted daemon
    ASSERT_TRUE(c) << c.error().What();
    auto e = (*c)->Get("message", sha);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->verdict, "suspicious");
    EXPECT_EQ(e->detail, "{\"x\":1}");
    EXPECT_EQ((*c)->Count(), 2);
    ASSERT_TRUE((*c)->Erase("message", sha));
    EXPECT_FALSE((*c)->Get("message", sha));
  }
  {
    auto c = VerdictCache::Open(path, "2.0");  // a new engine version ignores old verdicts
    ASSERT_TRUE(c);
    EXPECT_FALSE((*c)->Get("detonation", sha));
  }
  std::filesystem::remove_all(dir);
}

TEST(VerdictCache, UnopenablePathIsAnError) {
  auto c = VerdictCache::Open("/nonexistent-dir/cache.sqlite", "1.0");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().What().find("/nonexistent-dir/cache.sqlite"), std::string::npos);
}

}  // namespace
}  // namespace airlock::milter
