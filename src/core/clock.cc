#include "core/clock.h"

#include <time.h>

#include <cstdint>
#include <cstdio>

namespace airlock {

namespace {

// Days since 1970-01-01 -> the proleptic Gregorian date, by 400-year eras (146,097 days each) counted
// from 0000-03-01, so that the leap day ends a year. glibc's gmtime_r loads the time zone file on its
// first call, which UTC does not need: a launch's timestamp should not cost it six syscalls.
void CivilFromDays(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(static_cast<int64_t>(yoe) + era * 400 + (*m <= 2 ? 1 : 0));
}

}  // namespace

std::string UtcTimeNow() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return FormatUtc(ts);
}

std::string FormatUtc(const timespec& ts) {
  const int64_t days = ts.tv_sec >= 0 ? ts.tv_sec / 86400 : (ts.tv_sec - 86399) / 86400;
  const int64_t secs = ts.tv_sec - days * 86400;
  int y = 0;
  unsigned mo = 0, d = 0;
  CivilFromDays(days, &y, &mo, &d);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d.%03d", y, mo, d, static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60), static_cast<int>(ts.tv_nsec / 1000000));
  return buf;
}

}  // namespace airlock
