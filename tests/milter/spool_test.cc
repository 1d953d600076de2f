#include <gtest/gtest.h>

#include <filesystem>

#include "milter/spool.h"
#include "test_env.h"

namespace airlock::milter {
namespace {

TEST(Spool, StaysInMemoryUnderTheLimit) {
  std::string dir = airlock::test::MakeTempDir("milter-spool");
  Spool s(dir, 1024, 4096);
  ASSERT_TRUE(s.Append("hello "));
  ASSERT_TRUE(s.Append("world"));
  EXPECT_FALSE(s.on_disk());
  EXPECT_EQ(*s.Contents(), "hello world");
  std::filesystem::remove_all(dir);
}

TEST(Spool, SpillsToAnUnlinkedFileAndReadsBackExactly) {
  std::string dir = airlock::test::MakeTempDir("milter-spool");
  Spool s(dir, 100, 1 << 20);
  std::string expect;
  for (int i = 0; i < 1000; ++i) {
    std::string chunk = "line " + std::to_string(i) + std::string(1, static_cast<char>(i % 256)) + "\r\n";
    expect += chunk;
    ASSERT_TRUE(s.Append(chunk));
  }
  EXPECT_TRUE(s.on_disk());
  EXPECT_EQ(s.size(), expect.size());
  EXPECT_EQ(*s.Contents(), expect);
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << "the spill file has no name";
  std::filesystem::remove_all(dir);
}

TEST(Spool, OversizeStopsStoringAndRefusesContents) {
  std::string dir = airlock::test::MakeTempDir("milter-spool");
  Spool s(dir, 10, 50);
  ASSERT_TRUE(s.Append(std::string(40, 'a')));
  EXPECT_FALSE(s.oversize());
  ASSERT_TRUE(s.Append(std::string(40, 'b')));
  EXPECT_TRUE(s.oversize());
  EXPECT_EQ(s.size(), 80u);
  ASSERT_TRUE(s.Append(std::string(1 << 20, 'c')));  // still only counted
  EXPECT_FALSE(s.on_disk());
  auto c = s.Contents();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().err(), EFBIG);
  std::filesystem::remove_all(dir);
}

TEST(Spool, UnusableDirectoryIsAnErrorOnSpill) {
  Spool s("/nonexistent-milter-spool", 4, 1024);
  EXPECT_TRUE(s.Append("abc"));
  auto st = s.Append("defgh");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().What().find("/nonexistent-milter-spool"), std::string::npos);
}

}  // namespace
}  // namespace airlock::milter
