// What each browser's driver (Chromium over its DevTools pipe, browser_session.cc; Firefox over
// Marionette, firefox_session.h) shares in an `airlock browser` session: the sandbox's launch, the
// judge that scans held downloads off the driver's loop, the admission of a finished download into the
// quarantine, and the driver's interface to RunBrowserSession.
//
// Contract:
//  - Launch forks the sandbox's front end (`airlock run` or `airlock box run`) with its stdin on
//    /dev/null, its stdout and stderr into `log_fd`, and a command pipe at fd 3 and an event pipe at
//    fd 4 (used by drivers that pass them into the sandbox, ignored by others).
//  - AdmitFinished takes a finished download by its file name in the incoming directory: one path
//    component, opened beneath `incoming_fd` without following links, a regular file; it is copied
//    into the quarantine (never by a name from the page: quarantine.h), removed from the incoming
//    directory and handed to the judge. A name that is not one component, or a file that is not
//    regular, is dropped with a line in `dropped`.
//  - JudgeQueue judges one download at a time on its own thread: clean is released at once, the rest
//    held; each verdict is said on stderr and told on the desktop (download_notice.h). Finish()
//    judges what is queued, then stops (an interrupt interrupts running scans: those stay "unjudged").
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "browser/download_notice.h"
#include "browser/quarantine.h"
#include "browser/sandbox_check.h"
#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::browser {

inline constexpr const char* kInsideDownloads = "/downloads";

// One line on stderr: "airlock browser: LINE".
void Say(const std::string& line);
int64_t NowMs();  // CLOCK_MONOTONIC
// Base64 to bytes; stops at the first byte outside the alphabet.
std::string Base64Decode(const std::string& in);
// A new file (0600) with these bytes.
[[nodiscard]] Status WriteNewFile(const std::string& path, const std::string& bytes);

struct Launched {
  pid_t pid = -1;  // the `airlock run` (or `airlock box run`)
  UniqueFd to_browser, from_browser;
};
[[nodiscard]] Result<Launched> Launch(const std::vector<std::string>& args, int log_fd);

class JudgeQueue {
 public:
  JudgeQueue(const Quarantine& q, std::string downloads_dir, int interrupt_fd, const std::string& notify_bus_dir);
  ~JudgeQueue() { Finish(); }
  void Submit(HeldDownload d);
  bool Idle();
  void Finish();
  std::vector<HeldDownload> Done();

 private:
  void Loop();
  void Unjudged(HeldDownload& d, const std::string& why);
  void JudgeOne(HeldDownload& d);
  void Decide(HeldDownload& d);

  const Quarantine& q_;
  std::string downloads_;
  int interrupt_fd_;
  DownloadNotices notices_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<HeldDownload> queue_;
  std::vector<HeldDownload> done_;
  bool busy_ = false, stop_ = false;
  std::thread thread_;
};

void AdmitFinished(Quarantine& q, JudgeQueue& judge, int incoming_fd, const std::string& file_name, const HeldDownload& meta,
                   std::vector<std::string>& dropped);

// A browser's side of a session, run by RunBrowserSession (browser_session.h).
class SessionDriver {
 public:
  virtual ~SessionDriver() = default;
  // Drives the browser until it is closed (settled, timed out, interrupted, or closed by the user);
  // returns the sandbox's exit code.
  virtual int Run() = 0;
  // url, loaded, first_load_ms, navigate_error, text, downloads, dropped, sandbox (with --check).
  virtual nlohmann::json Report() = 0;
  virtual bool checked() const = 0;
  virtual const SandboxFacts& facts() const = 0;
};

}  // namespace airlock::browser
