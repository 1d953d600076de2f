// Warm sandboxes: `airlock pool` keeps sandboxes prepared up to the payload (namespaces, uid maps,
// mounts, pivot_root, hostname, loopback: everything but the command), and `airlock run` hands its
// command, environment and stdio to one of them instead of building a sandbox from nothing. Each
// sandbox serves exactly one run and is replaced right after it is taken, so every run still gets
// fresh namespaces and a fresh root; only the setup moved off the caller's critical path (the
// zygote idea of Chromium's Linux sandbox, without sharing anything between runs).
//
// Trust: the pool and its clients are the same user. The socket lives in a directory only that user
// can enter; both sides check the peer's uid (SO_PEERCRED) and refuse anyone else. The client sends the
// policy it would run (PoolKey); the pool serves it only if it is byte-for-byte the pool's own, so a
// run never gets a weaker (or different) sandbox than the one it asked for: the limits (--memory,
// --pids, --cpu) are part of that policy, and each sandbox of a pool with limits waits in a cgroup of
// its own that enforces them (pool_server.cc), handed to the client with the sandbox. Runs the pool
// cannot serve (a different policy or other limits, --monitor, user-mode network, --pass-fd, no
// sandbox ready) run cold, unless --pool=required.
//
// After the hand-over the pool is out of the way: the sandbox's init talks to the client directly
// (pool_wire.h), dies with the client's connection and reports to the client's pipes; the pool only
// reaps it. Lifetime of a ready sandbox is bounded (max_age) so its binds of /etc files do not go stale.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"
#include "sandbox/outcome.h"
#include "sandbox/prepare.h"

namespace airlock::pool {

// $AIRLOCK_POOL_SOCKET, else pool.sock in the user's runtime directory (core/runtime_dir.h
// UserRuntimeDir: /run/airlock for root, $XDG_RUNTIME_DIR/airlock, /tmp/airlock-UID or a private
// fallback, never a directory another user made); `create` (the pool) makes the /tmp directory. The
// client and the pool compute the same path; no other user can make either of them use theirs.
std::string DefaultSocketPath(bool create = false);

// Why this run cannot use a warm sandbox; empty if it can.
std::string WarmIneligibility(const Policy& policy, const RunOptions& options);

// What client and pool compare: the whole effective policy (minus what only the client applies:
// environment, timeout) and the caller's ids.
std::string PoolKey(const Policy& policy);

// Fast path: `airlock run` with a built-in profile and no option that changes the policy need not
// load the profile at all. The pool publishes, next to its socket (ParamsPath), the few values the
// client applies itself (environment, ids, timeout, the seccomp policy its supervisor classifies
// with), under a key naming the built-in profile, this build (version and a hash of every built-in
// profile's text) and the uid: the same key means the same policy, so the pool serves it like a full
// PoolKey match. Only for built-in profiles whose policy does not depend on the working directory.
std::string BuiltinFastKey(const std::string& profile);  // "" if `profile` is not a built-in name
std::string ParamsPath(const std::string& socket);
// The policy a fast-path client runs with: the pool's published values, nothing else set.
Result<Policy> ReadPublishedPolicy(const std::string& socket, const std::string& fast_key);
// What the pool publishes (JSON) for ReadPublishedPolicy.
std::string PublishedParams(const Policy& policy, const std::string& fast_key);

struct ServeOptions {
  std::string socket;  // empty: DefaultSocketPath()
  std::string profile; // as given to `airlock pool --profile` (enables the fast path for built-ins)
  size_t size = 2;     // sandboxes kept ready
  std::chrono::seconds max_age{300};
};

// `airlock pool`: serves until SIGINT/SIGTERM; returns the exit code.
Result<int> Serve(const Policy& policy, const ServeOptions& options);

// `airlock run` with a pool: nullopt when no warm sandbox served the run (why in *why_not; run cold).
// `key` is PoolKey(policy), or BuiltinFastKey() for a policy from ReadPublishedPolicy().
std::optional<Result<RunOutcome>> RunWarm(const Policy& policy, const std::vector<std::string>& cmd, const RunOptions& options,
                                          const std::string& socket, const std::string& key, std::string* why_not);

}  // namespace airlock::pool
