// Facts about the process behind a fanotify event, read from /proc (procfs is never marked, so the
// gate's reader may read it without waiting on itself).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace airlock::watch {

// An interpreter or loader by the resolved path of its executable: sh, bash, dash, zsh, ksh, mksh,
// busybox, python*, perl*, ruby*, node, php*, lua*, tclsh*, and the dynamic loader (ld-linux*.so*,
// ld.so, ld-*.so*). Pure.
bool IsInterpreterPath(std::string_view exe);
// The parent pid from the text of /proc/PID/stat (the field after the last ')'), -1 if malformed. Pure.
pid_t ParsePpid(std::string_view stat_text);

// readlink /proc/PID/exe ("" when the process is gone or a kernel thread).
std::string ExeOf(pid_t pid);
// `pid` is `ancestor` or one of its descendants (walks /proc/PID/stat parents, at most 64 levels).
bool IsSelfOrDescendant(pid_t pid, pid_t ancestor);

}  // namespace airlock::watch
