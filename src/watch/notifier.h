// Desktop notifications of airlock watch: the owner of a file is told when it is judged malicious or
// suspicious (or clean, with level kAll) and when the gate refuses to run it (docs/ENDPOINT.md
// "Notifications").
//
// Contract:
//  - Notify never blocks and never does I/O: the notice goes on a bounded queue (queue_limit, 64; a
//    full queue drops it and counts `dropped`); a notice whose (path, kind) is already queued is
//    coalesced with it. Level kOff: nothing is queued; kBlocked: malicious and suspicious verdicts and
//    refusals; kAll: clean verdicts too.
//  - One thread serves the queue. For each notice it stats the path (the owner at that moment is
//    whom to tell; a file gone meanwhile: failed), applies the rate limit (one notification per (uid,
//    path, kind) per `rate_window`, 10 s; counted `rate_limited`), and looks for the owner's session
//    bus at <bus_dir>/<uid>/bus: not a socket, or not owned by that uid, is counted `no_session` and
//    nothing is sent (root's files: uid 0 likewise).
//  - Sending: `send_argv` (the daemon's own binary with the hidden `notify-send` command, under
//    `env -i`: a clean environment) with --uid/--gid/--bus/--urgency/--icon/--category/--summary/--body,
//    run by process/spawn.h with a deadline (send_timeout) and kill_with_caller. The child drops to the
//    owner's ids before it connects (watch/notify_send.h). One log line per notification sent or failed:
//    "notify uid=U kind=K path=P sent" | "... failed: why".
//  - Text: file names are bytes from anyone: made valid UTF-8 (core/json_text.h, invalid bytes as
//    `\xNN`), control characters as `\xNN`, cut to a bounded length; the body is escaped for the
//    notification markup (&, <, >). Everything goes to the child as argv, never through a shell.
//  - Destroying the Notifier stops the thread after the notification being sent (at most
//    send_timeout); queued notices are dropped.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "watch/trust_policy.h"

namespace airlock::watch {

enum class NotifyLevel { kOff, kBlocked, kAll };
Result<NotifyLevel> ParseNotifyLevel(const std::string& text);  // off | blocked | all
const char* NotifyLevelName(NotifyLevel level);

// What the user reads.
struct NotifyMessage {
  std::string kind;      // malicious | suspicious | clean | blocked (the rate limit's key, the log's word)
  bool critical = false;  // urgency 2, else 1
  std::string icon;      // dialog-warning | dialog-information
  std::string category;  // x-airlock.verdict | x-airlock.blocked
  std::string summary;   // plain text
  std::string body;      // notification markup (escaped)
};

// What happened to a file.
struct Notice {
  enum class Kind { kVerdict, kBlocked };
  Kind kind = Kind::kVerdict;
  std::string path;
  std::string sha256;
  Verdict verdict = Verdict::kUnknown;  // kVerdict: the verdict; kBlocked: the reason (kUnknown: not judged yet)
  std::optional<NotifyMessage> message;  // set: sent as it is (another component's wording, e.g. the browser's
                                         // downloads), at every level but off; kind and verdict are then unused;
                                         // the rate limit and the owner's bus apply as to any notice
};

struct NotifierOptions {
  NotifyLevel level = NotifyLevel::kBlocked;
  std::string bus_dir = "/run/user";
  bool enforce = true;  // the gate refuses (the text says "will not run" or "would be refused")
  size_t queue_limit = 64;
  std::chrono::milliseconds rate_window{10000};
  std::chrono::milliseconds send_timeout{5000};
  std::vector<std::string> send_argv;  // empty: {env -i, <this binary>, notify-send}
  std::function<void(std::string)> log;  // one line; must not block
  // The trust database id of a content (for "airlock verdicts release ID"); called on the thread.
  std::function<std::optional<int64_t>(const std::string& sha256)> id_of;
};

struct NotifierStats {
  std::atomic<uint64_t> sent{0}, failed{0}, dropped{0}, no_session{0}, rate_limited{0};
};


class Notifier {
 public:
  explicit Notifier(NotifierOptions options);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void Notify(Notice notice);  // never blocks
  const NotifierStats& stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Exposed for tests.
// Whether `level` asks for this notice at all (one with its own message: at every level but off).
bool Wanted(NotifyLevel level, const Notice& notice);
// `bytes` as one line of valid UTF-8: invalid bytes and control characters as `\xNN`, at most
// `max_bytes` bytes (cut at a character boundary, "..." appended).
std::string DisplayText(std::string_view bytes, size_t max_bytes = 512);
// &, <, > as entities (the body's markup).
std::string EscapeMarkup(std::string_view text);
// The message for `notice`; `id`: its trust database id when known.
NotifyMessage MessageFor(const Notice& notice, std::optional<int64_t> id, bool enforce);

}  // namespace airlock::watch
