// The payload of a warm sandbox (pool.h), run by the sandbox's init in place of a cold payload
// (child.h, WarmStart): init forks the payload at once; the payload locks itself down completely
// (LockDownPayloadInChild, seccomp included), reports ready and waits for the pool to hand it a
// client's connection. It then reads the client's request itself (pool_wire.h), gives init the
// client's status pipe and the client its seccomp listener, and execs. init meanwhile tells the pool
// it is ready, takes the client's connection too, and from then on supervises for the client: a
// SignalMessage is forwarded to the payload, a hang-up means the client died.
// Everything here runs in the sandbox after clone(): allocation-free, syscalls only.
#pragma once

#include <signal.h>

#include "sandbox/child.h"
#include "sandbox/prepare.h"

namespace airlock::pool {

// init's two sockets to the pool; the caller keeps this alive (on its stack) until init ends.
struct WarmChannels {
  int pool_ctl = -1;      // init's socket to the pool
  int pool_payload = -1;  // the payload's socket to the pool (the client's connection arrives here)
};

// A WarmStart::start (child.h); `arg` is a WarmChannels*. Never returns.
[[noreturn]] void StartWarmSandboxInInit(const PreparedRun& run, ChildChannels& ch, const sigset_t& old_mask, const sigset_t& waited,
                            void* arg);

// The WarmStart for `channels`.
inline WarmStart WarmStartFor(WarmChannels* channels) { return WarmStart{&StartWarmSandboxInInit, channels}; }

}  // namespace airlock::pool
