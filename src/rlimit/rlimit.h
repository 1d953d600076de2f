// setrlimit() from the policy. Names are parsed in the parent; the child applies preformatted values.
#pragma once

#include <sys/resource.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"

namespace airlock {

struct PreparedRlimit {
  int resource = 0;
  struct rlimit value {};
};

// Parses names ("nofile", "nproc", "as", "core", "fsize", "cpu", "stack", "memlock", "data", "rss",
// "msgqueue", "nice", "rtprio", "sigpending", "locks") and values ("1024", "1024:4096", "unlimited",
// "64M"). Also adds the fallbacks for limits the cgroup could not enforce (listed in `fallback`:
// "memory" -> RLIMIT_AS, "pids" -> RLIMIT_NPROC) and a core size of 0 by default.
Result<std::vector<PreparedRlimit>> PrepareRlimits(const Limits& limits, const std::vector<std::string>& fallback);

// Parses "NAME=VALUE" as given on the command line.
Result<RlimitEntry> ParseRlimitSpec(const std::string& spec);

// Child side, allocation-free. Returns 0 or -errno.
int ApplyRlimitsInChild(const std::vector<PreparedRlimit>& limits);

}  // namespace airlock
