// The execution gate: fanotify permission events answered from memory (docs/ENDPOINT.md).
//
// Contract:
//  - One fanotify group (FAN_CLASS_CONTENT). Filesystem marks (FAN_MARK_FILESYSTEM: every access to
//    that filesystem, through any mount, from any mount namespace) and mount marks (FAN_MARK_MOUNT:
//    one mount object only; tests use them on copies in a private mount namespace) ask for
//    FAN_OPEN_EXEC_PERM, and FAN_OPEN_PERM when interpreters are gated. (Files written into the
//    watched directories are the directory watcher's: dir_watcher.h.)
//  - The reader thread never blocks on anything but /proc and fstat: a decision it can make from the
//    decision cache, the path and the trust state is answered at once; one that needs a hash (first
//    sight of a dpkg file, or a content not yet cached) goes to a verifier thread, which answers when
//    the hash is done. Every pending answer has a deadline: the watchdog answers with the fail mode
//    when it passes (each event is answered exactly once, whoever comes first).
//  - Unknown content is refused at once in enforce mode (never held while it is analysed) and handed
//    to `on_unjudged` (the judge queue: must not block). Monitor mode answers allow and logs
//    "would deny".
//  - A file trusted by content (dpkg-verified, allow-listed hash, clean or released) gets an ignore mark
//    on its inode: the kernel answers its later opens and execs itself until the file is modified
//    (the kernel then drops the ignore mask). Trust by path is never handed to the kernel.
//  - Builds (when `builds` is set): every open asked about notes its process with BuildTrust; an exec
//    of content without a verdict in a build directory, that a verified builder wrote last, is
//    allowed and the content trusted (clean, "built by <builder>").
//  - Excluded: events of the daemon's own process are allowed at once; a refusal is turned into an
//    allow when the process is one of the daemon's descendants (its scan and analysis sandboxes).
//  - Destroying the Gate stops the threads and closes the group: the kernel allows every event still
//    waiting, as it does when the daemon dies (SIGKILL included).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "watch/build_trust.h"
#include "watch/trust_state.h"

namespace airlock::watch {

enum class GateMode { kMonitor, kEnforce };
enum class FailMode { kOpen, kClosed };
// What an interpreter or loader may read: kDownloads refuses only watched files (downloads) that are
// not judged clean; kUntrusted refuses everything an exec would be refused.
enum class InterpreterReads { kDownloads, kUntrusted };

struct GateOptions {
  GateMode mode = GateMode::kMonitor;
  FailMode fail_mode = FailMode::kClosed;
  std::chrono::milliseconds decision_timeout{1000};
  std::vector<std::string> filesystem_marks;
  std::vector<std::string> mount_marks;
  bool gate_interpreters = true;
  InterpreterReads interpreter_reads = InterpreterReads::kDownloads;
  int verifiers = 2;
  BuildTrust* builds = nullptr;  // transitive trust for builds (build_trust.h); off when null
};

struct GateHooks {
  std::function<void(std::string)> log;  // one event line; must not block
  // Unknown content met at an exec attempt (urgent for the judge): must not block.
  std::function<void(const std::string& path, const std::string& sha256)> on_unjudged;
  // Content without a verdict that a verified builder wrote (BuildTrust): trusted in memory already;
  // the hook records it. Must not block.
  std::function<void(const std::string& path, const std::string& sha256, const std::string& builder)> on_built;
  // Enforce mode refused a file (logged "deny ..."; reason: "not judged yet" or the verdict's name):
  // the notifier. Must not block.
  std::function<void(const std::string& path, const std::string& sha256, const std::string& reason)> on_denied;
};

struct GateStats {
  std::atomic<uint64_t> events{0}, allowed{0}, denied{0}, would_deny{0}, cache_hits{0}, hashed{0}, watchdog{0};
  std::atomic<uint64_t> ignored{0};  // inodes handed to the kernel's ignore mask (trusted by content)
};

class Gate {
 public:
  static Result<std::unique_ptr<Gate>> Start(const GateOptions& options, TrustState& trust, GateHooks hooks);
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  const GateStats& stats() const;

  struct Impl;

 private:
  explicit Gate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

const char* GateModeName(GateMode m);
const char* FailModeName(FailMode m);

}  // namespace airlock::watch
