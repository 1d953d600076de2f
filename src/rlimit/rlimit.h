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
//  - An explicit entry for the same resource wins over a fallback; a later explicit entry wins over
//    an earlier one. The result holds at most one entry per resource, sorted by resource.
//  - Fallbacks are clamped to the caller's current hard limit (an unprivileged setrlimit cannot raise
//    it); explicit entries are not, so an impossible explicit value fails loudly in the child.
//  - RLIMIT_NPROC counts all processes of the sandbox's real uid on the host, not just the sandbox's;
//    "cpu" has no rlimit equivalent (RLIMIT_CPU is total seconds, not a share) and is accepted in
//    `fallback` without adding anything: the caller reports it as not enforced.
//  - Unknown names in `fallback` are an error.
Result<std::vector<PreparedRlimit>> PrepareRlimits(const Limits& limits, const std::vector<std::string>& fallback);

// Parses "NAME=VALUE" as given on the command line.
Result<RlimitEntry> ParseRlimitSpec(const std::string& spec);

// RLIMIT_* for a name above, or -1 when unknown.
int RlimitResourceByName(const std::string& name);

// Parses a value: "1024" (soft = hard), "SOFT:HARD", "unlimited" (RLIM_INFINITY, also in either half),
// sizes with a binary suffix "64K"/"64M"/"1G"/"1T" (optionally followed by "B" or "iB"). Rejects
// overflow, negative numbers, empty halves and soft > hard.
Result<RlimitEntry> ParseRlimitValue(const std::string& value);

// Child side, allocation-free. Returns 0 or -errno.
int ApplyRlimitsInChild(const std::vector<PreparedRlimit>& limits);

}  // namespace airlock
