// The syscalls the behaviour monitor (src/monitor) has the seccomp filter route to the supervisor.
// They live on the seccomp side because the filter is built from them, including at build time
// (seccomp_precompile embeds the monitor's filter variants, program_cache.h): seccomp must not
// depend on the monitor, which sits above it. monitor/monitor.h re-exports this header.
//
// Contract: the lists are fixed for the life of the process (static storage); names are syscall
// names, never groups.
#pragma once

#include <string>
#include <vector>

#include "seccomp/seccomp.h"

namespace airlock {

// Syscalls the monitor asks the seccomp filter to route to the supervisor.
const std::vector<std::string>& MonitoredSyscalls();
// Syscalls routed in every run with denial counting, so fileless execution is always reported.
const std::vector<std::string>& ObservedSyscalls();
// Narrowing of MonitoredSyscalls() applied unless every call is asked for (`--monitor-reads`):
// open/openat only with O_WRONLY|O_RDWR|O_CREAT|O_TRUNC, chmod/fchmod/fchmodat only for modes with an
// execute, setuid/setgid/sticky or world-write bit, utimensat only with explicit times.
const std::vector<NotifyArgFilter>& MonitorNotifyFilters();

}  // namespace airlock
