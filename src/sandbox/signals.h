// The one list of signals airlock forwards to a sandbox, shared by the supervisor (cold runs and warm
// clients: src/sandbox/supervisor.h) and the sandbox's init (child.cc).
//
// The supervisor blocks its signals before launch (so none is lost between clone and the signalfd)
// and forwards each to init; init forwards its signals to the payload. init also forwards SIGCONT and
// SIGALRM: it shares airlock's process group, so a shell's `fg` reaches it directly, while the payload
// runs in a session of its own. airlock itself keeps their default actions.
// Allocation-free and async-signal-safe: usable in the child after clone().
#pragma once

#include <signal.h>

namespace airlock {

struct ForwardedSignal {
  int signo;
  bool by_supervisor;  // false: forwarded by init only
};

inline constexpr ForwardedSignal kForwardedSignals[] = {
    {SIGHUP, true},  {SIGINT, true},   {SIGQUIT, true},  {SIGTERM, true}, {SIGUSR1, true},
    {SIGUSR2, true}, {SIGWINCH, true}, {SIGCONT, false}, {SIGALRM, false},
};

// The signals that ask airlock to stop (a terminal's Ctrl-C, `kill`, a closed terminal). With
// RunOptions::kill_on_interrupt they kill the sandbox instead of being forwarded; either way the run
// report says `interrupted` (runapi/run_report.h).
inline constexpr int kInterruptSignals[] = {SIGHUP, SIGINT, SIGTERM};
inline bool IsInterruptSignal(int signo) { return signo == SIGHUP || signo == SIGINT || signo == SIGTERM; }

// Adds the signals the supervisor forwards (by_init = false) or init forwards (by_init = true) to *set.
inline void AddForwardedSignals(sigset_t* set, bool by_init) {
  for (const auto& f : kForwardedSignals) {
    if (f.by_supervisor || by_init) sigaddset(set, f.signo);
  }
}

}  // namespace airlock
