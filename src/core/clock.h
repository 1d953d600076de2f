// Wall-clock timestamps for event records (monitor events, sinkhole events).
//
// Contract: UtcTimeNow() returns the current UTC time as "YYYY-mm-dd HH:MM:SS.mmm" (Sysmon's UtcTime
// format, docs/EVENTS.md). Thread-safe (a per-thread cache of the seconds part); not for the child
// side after clone() (it allocates).
#pragma once

#include <string>

namespace airlock {

std::string UtcTimeNow();  // "2026-11-27 05:50:00.123"

}  // namespace airlock
