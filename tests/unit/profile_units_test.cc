// ParseSize / ParseDuration / ParseMemoryLimit / ParseCountLimit edge cases.
#include <gtest/gtest.h>
#include <sys/sysinfo.h>

#include "policy/profile_loader.h"

namespace airlock {
namespace {

TEST(ParseSize, PlainBytesAndSuffixes) {
  EXPECT_EQ(ParseSize("1048576").value(), 1048576u);
  EXPECT_EQ(ParseSize("0").value(), 0u);
  EXPECT_EQ(ParseSize("512k").value(), 512u * 1024);
  EXPECT_EQ(ParseSize("64m").value(), 64u * 1024 * 1024);
  EXPECT_EQ(ParseSize("64M").value(), 64u * 1024 * 1024);
  EXPECT_EQ(ParseSize("1G").value(), 1024ull * 1024 * 1024);
  EXPECT_EQ(ParseSize("2t").value(), 2ull << 40);
  EXPECT_EQ(ParseSize("64MB").value(), 64u * 1024 * 1024);
  EXPECT_EQ(ParseSize("64MiB").value(), 64u * 1024 * 1024);
  EXPECT_EQ(ParseSize("100b").value(), 100u);
}

TEST(ParseSize, LimitsOfUint64) {
  EXPECT_EQ(ParseSize("18446744073709551615").value(), UINT64_MAX);
  EXPECT_FALSE(ParseSize("18446744073709551616"));        // one past
  EXPECT_FALSE(ParseSize("99999999999999999999999999"));  // digits overflow
  EXPECT_FALSE(ParseSize("16777216t"));                   // 2^24 * 2^40 overflows
  EXPECT_EQ(ParseSize("16777215t").value(), 16777215ull << 40);
}

TEST(ParseSize, RejectsJunk) {
  for (const char* bad : {"", "-1", "-64m", "+5", " 64m", "64m ", "64 m", "m", "64x", "64mm", "64kbb", "1.5g",
                          "0x10", "64mi", "12k3"}) {
    auto r = ParseSize(bad);
    EXPECT_FALSE(r) << "'" << bad << "' parsed as " << (r ? *r : 0);
  }
  EXPECT_FALSE(ParseSize(std::string(100, '1')));
}

TEST(ParseDuration, Units) {
  using std::chrono::milliseconds;
  EXPECT_EQ(ParseDuration("30s").value(), milliseconds(30000));
  EXPECT_EQ(ParseDuration("500ms").value(), milliseconds(500));
  EXPECT_EQ(ParseDuration("2m").value(), milliseconds(120000));
  EXPECT_EQ(ParseDuration("1h").value(), milliseconds(3600000));
  EXPECT_EQ(ParseDuration("1d").value(), milliseconds(86400000));
  EXPECT_EQ(ParseDuration("10").value(), milliseconds(10000));
  EXPECT_EQ(ParseDuration("0").value(), milliseconds(0));
  EXPECT_EQ(ParseDuration("5MS").value(), milliseconds(5));
}

TEST(ParseDuration, RejectsJunkAndOverflow) {
  for (const char* bad : {"", "-1s", "s", "10 s", "10sec", "1.5s", "10us", "ms", "1m30s", "99999999999999999999s"}) {
    EXPECT_FALSE(ParseDuration(bad)) << "'" << bad << "'";
  }
  EXPECT_FALSE(ParseDuration("9223372036854775807h"));
  EXPECT_FALSE(ParseDuration("5000000000000000000s"));  // fits uint64 digits, not milliseconds
}

uint64_t Ram() {
  struct sysinfo si {};
  EXPECT_EQ(sysinfo(&si), 0);
  return static_cast<uint64_t>(si.totalram) * si.mem_unit;
}

TEST(ParseMemoryLimit, SizesPercentagesMinAndUnlimited) {
  EXPECT_EQ(ParseMemoryLimit("512m").value(), std::optional<uint64_t>(512u << 20));
  EXPECT_EQ(ParseMemoryLimit("unlimited").value(), std::nullopt);
  EXPECT_EQ(ParseMemoryLimit(" Unlimited ").value(), std::nullopt);
  EXPECT_EQ(ParseMemoryLimit("100%").value(), std::optional<uint64_t>(Ram()));
  EXPECT_EQ(ParseMemoryLimit("25%").value(), std::optional<uint64_t>(Ram() / 4));
  EXPECT_EQ(ParseMemoryLimit("min(25%, 4g)").value(), std::optional<uint64_t>(std::min<uint64_t>(Ram() / 4, 4ull << 30)));
  EXPECT_EQ(ParseMemoryLimit("MIN(1g,2g,512m)").value(), std::optional<uint64_t>(512u << 20));
  EXPECT_EQ(ParseMemoryLimit("min(100%)").value(), std::optional<uint64_t>(Ram()));
  EXPECT_EQ(DefaultMemoryLimitBytes(), std::min<uint64_t>(Ram() / 4, 4ull << 30));
}

TEST(ParseMemoryLimit, RejectsJunk) {
  for (const char* bad : {"", "0%", "101%", "-5%", "25 %", "2.5%", "%", "min()", "min(25%", "min(25%,)", "min(x, 1g)",
                          "max(1g, 2g)", "lots", "unlimited!"}) {
    auto r = ParseMemoryLimit(bad);
    EXPECT_FALSE(r) << "'" << bad << "' parsed";
  }
  EXPECT_FALSE(ParseMemoryLimit("min(" + std::string(200, '1') + ")"));
}

TEST(ParseCountLimit, NumbersAndUnlimited) {
  EXPECT_EQ(ParseCountLimit("1024").value(), std::optional<uint64_t>(1024));
  EXPECT_EQ(ParseCountLimit("0").value(), std::optional<uint64_t>(0));  // ValidatePolicy refuses it
  EXPECT_EQ(ParseCountLimit("unlimited").value(), std::nullopt);
  for (const char* bad : {"", "-1", "1k", "12x", "9223372036854775808", "many", "1 024"}) {
    EXPECT_FALSE(ParseCountLimit(bad)) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace airlock
