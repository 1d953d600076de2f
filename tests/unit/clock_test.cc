// core/clock.h: UTC timestamps written without the time zone file, equal to what gmtime_r gives.
#include "core/clock.h"

#include <gtest/gtest.h>
#include <time.h>

#include <cstdio>
#include <string>

using namespace airlock;

namespace {

std::string ByGmtime(const timespec& ts) {
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
                t.tm_min, t.tm_sec, static_cast<int>(ts.tv_nsec / 1000000));
  return buf;
}

}  // namespace

// Leap days, century rules (1900 and 2100 are not leap years, 2000 is), month and year ends, the epoch
// and every ~3.5 days across 1970-2200.
TEST(Clock, FormatUtcIsWhatGmtimeGives) {
  for (time_t s : {time_t{0}, time_t{951782400}, time_t{951868799}, time_t{4107542400}, time_t{4107628799}, time_t{1704067199},
                   time_t{1709164800}, time_t{-1}, time_t{-2208988800}}) {
    timespec ts{s, 987654321};
    EXPECT_EQ(FormatUtc(ts), ByGmtime(ts)) << s;
  }
  for (time_t s = 0; s < 7258118400; s += 302401) {
    timespec ts{s, 5000000};
    ASSERT_EQ(FormatUtc(ts), ByGmtime(ts)) << s;
  }
}

TEST(Clock, UtcTimeNowHasTheEventFormat) {
  const std::string now = UtcTimeNow();
  ASSERT_EQ(now.size(), 23u) << now;
  EXPECT_EQ(now[4], '-');
  EXPECT_EQ(now[10], ' ');
  EXPECT_EQ(now[19], '.');
}
