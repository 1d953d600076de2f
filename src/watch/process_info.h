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

// readlink /proc/PID/exe ("" when the process is gone or a kernel thread).
std::string ExeOf(pid_t pid);
// A process's parent and ancestry: process/proc_stat.h (ParsePpid, ParentPid, IsSelfOrDescendant).

}  // namespace airlock::watch
