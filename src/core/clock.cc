#include "core/clock.h"

#include <time.h>

#include <cstdio>

namespace airlock {

std::string UtcTimeNow() {
  // The "YYYY-mm-dd HH:MM:SS" part changes once a second: format it only then.
  thread_local time_t last_sec = -1;
  thread_local char prefix[32];
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != last_sec) {
    tm t;
    gmtime_r(&ts.tv_sec, &t);
    strftime(prefix, sizeof prefix, "%Y-%m-%d %H:%M:%S", &t);
    last_sec = ts.tv_sec;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s.%03d", prefix, static_cast<int>(ts.tv_nsec / 1000000));
  return buf;
}

}  // namespace airlock
