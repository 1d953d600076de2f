// Wall-clock timestamps for event records (monitor events, sinkhole events).
//
// Contract: UtcTimeNow() returns the current UTC time as "YYYY-mm-dd HH:MM:SS.mmm" (Sysmon's UtcTime
// format, docs/EVENTS.md). FormatUtc formats a given time the same way. Thread-safe; neither reads the
// time zone file (UTC needs none); not for the child side after clone() (they allocate).
#pragma once

#include <time.h>

#include <string>

namespace airlock {

std::string UtcTimeNow();  // "2026-11-27 05:50:00.123"
std::string FormatUtc(const timespec& ts);

}  // namespace airlock
