// SIGINT, SIGTERM and SIGHUP for a program that supervises children (airlock-analyze, airlock-browse):
// instead of dying at once and leaving its children (and their sandboxes) running without a report,
// the program stops its children and writes what it has.
//
// Contract:
//  - Construct one InterruptWatch first in main(), before any thread starts: it blocks the three
//    signals in the calling thread (threads started later inherit the mask) and watches them through
//    a signalfd. They stay blocked for the rest of the process: a second Ctrl-C while the report is
//    written cannot lose it. Children started by process/spawn.h get an empty mask.
//  - fd() is readable while a signal is pending; pass it as SpawnOptions::interrupt_fd so a running
//    child is interrupted too (spawn.h polls it, never reads it). Pending() asks without consuming;
//    Signal() consumes it once and returns the same signal ever after (0: none): call it once no
//    further child will be started (a consumed signal no longer makes fd() readable).
//  - When the signalfd cannot be created the signals are unblocked again (their default actions: the
//    program dies as it did before, it does not become unkillable by Ctrl-C).
#pragma once

#include <signal.h>

#include "core/unique_fd.h"

namespace airlock::process {

class InterruptWatch {
 public:
  InterruptWatch();
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;

  int fd() const { return fd_.get(); }
  bool Pending() const;
  int Signal();

 private:
  UniqueFd fd_;
  int signo_ = 0;
};

}  // namespace airlock::process
