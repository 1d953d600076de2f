// A process's parent from /proc/PID/stat: the one parser for airlock ps (a sandbox's process tree),
// the execution gate (is this process one of ours) and the tests that look for a daemon's children.
#pragma once

#include <sys/types.h>

#include <string_view>

namespace airlock {

// The parent pid from the text of /proc/PID/stat (the field after the last ')': the command name may
// itself hold ") "), -1 if malformed. Pure.
pid_t ParsePpid(std::string_view stat_text);

// The parent of `pid` by /proc/PID/stat, -1 when the process is gone or the file is malformed.
pid_t ParentPid(pid_t pid);

// `pid` is `ancestor` or one of its descendants (walks parents, at most 64 levels).
bool IsSelfOrDescendant(pid_t pid, pid_t ancestor);

}  // namespace airlock
