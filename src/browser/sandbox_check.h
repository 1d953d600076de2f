// `airlock browser --check`: is the browser's own sandbox still working inside airlock's? Read from
// the host's /proc, like chrome://sandbox but from outside the browser (a compromised browser cannot
// lie about it):
//  - the processes below `root_pid` (the `airlock run` of the browser) are found by their parent links;
//  - the browser is the process running the browser binary without --type=; renderers are those with
//    --type=renderer;
//  - a renderer is sandboxed when its Seccomp field is 2, it has more seccomp filters than the browser
//    process (Seccomp_filters, Linux 5.9+: airlock's filter is inherited by every process, so only
//    the count shows Chromium's own), and its user and pid namespaces differ from the browser's
//    (Chromium's namespace sandbox).
// The check passes when there is at least one renderer and every renderer is sandboxed.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace airlock::browser {

struct ProcessFacts {
  pid_t pid = 0;
  std::string type;       // "browser", "renderer", "zygote", "gpu-process", "utility", ... ("" unknown)
  int seccomp = -1;       // the Seccomp field of /proc/PID/status (-1 unreadable)
  int seccomp_filters = -1;  // Seccomp_filters (Linux 5.9+; -1 where absent)
  bool own_filter = false;   // more filters than the browser process (airlock's is shared by all)
  bool no_new_privs = false;
  bool own_userns = false;  // user namespace differs from the browser's
  bool own_pidns = false;   // pid namespace differs from the browser's
  bool own_netns = false;
  std::string problem;    // why this renderer is not sandboxed ("" when it is, or not a renderer)
};

struct SandboxFacts {
  bool ok = false;
  std::string summary;    // one line for the user
  std::vector<ProcessFacts> processes;
};

// The processes below root_pid (children, their children, ... by the PPid of /proc/PID/status, at
// most 64 levels deep), each with its depth (0: a child of root_pid).
std::map<pid_t, int> ProcessesBelow(pid_t root_pid, const std::string& proc_root = "/proc");

// Reads /proc (`proc_root`, "/proc" but for tests) for the processes below root_pid.
SandboxFacts CheckBrowserSandbox(pid_t root_pid, const std::string& proc_root = "/proc");

// The facts as JSON text (core/json_text.h) and as lines for a terminal.
std::string SandboxFactsJson(const SandboxFacts& f);
std::string SandboxFactsText(const SandboxFacts& f);

}  // namespace airlock::browser
