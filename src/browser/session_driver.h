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
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "browser/browser_session.h"
#include "browser/download_notice.h"
#include "browser/quarantine.h"
#include "browser/sandbox_check.h"
#include "core/error.h"
#include "core/unique_fd.h"
#include "runapi/run_request.h"

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

// The part of the browser's `airlock run` both drivers share: the `browser` profile, killed whole on an
// interrupt, no RLIMIT_AS (V8 and Firefox reserve far more than any), the network options, the
// incoming directory at /downloads, the desktop's display, the sockets asked for (`asked`: --audio's,
// --keepassxc's) and bus, the uploads folder. Each
// driver adds its own options and command, then BoxedArgv: the argv, as `airlock box run NAME` with
// --box.
[[nodiscard]] Result<runapi::RunRequest> BrowserRunRequest(const SessionOptions& o, const DisplayChoice& display, const DisplayChoice& asked,
                                                           const std::string& incoming, const std::string& bus_socket);
[[nodiscard]] Result<std::vector<std::string>> BoxedArgv(const runapi::RunRequest& r, const SessionOptions& o);

void AdmitFinished(Quarantine& q, JudgeQueue& judge, int incoming_fd, const std::string& file_name, const HeldDownload& meta,
                   std::vector<std::string>& dropped);

// A browser's side of a session, run by RunBrowserSession (browser_session.h): what every driver
// keeps (the page's outcome, the judge, the dropped downloads, the --check facts) and reports.
class SessionDriver {
 public:
  SessionDriver(const SessionOptions& o, Launched l, Quarantine& q, UniqueFd incoming)
      : o_(o), l_(std::move(l)), q_(q), incoming_(std::move(incoming)), judge_(q, o.downloads_dir, o.interrupt_fd, o.notify_bus_dir) {}
  virtual ~SessionDriver() = default;
  // Drives the browser until it is closed (settled, timed out, interrupted, or closed by the user);
  // returns the sandbox's exit code.
  virtual int Run() = 0;
  // The report's body (the caller adds the envelope, display, box, weakenings): url, loaded,
  // first_load_ms, navigate_error, text, downloads (those the judge finished), dropped, and sandbox
  // with --check.
  nlohmann::json Report();
  bool checked() const { return checked_; }
  const SandboxFacts& facts() const { return facts_; }

 protected:
  // Once the browser has gone: each file it saved into its download folder by other means than a
  // download ("Save as PDF" from the print dialog, "Save Page As") is admitted (AdmitFinished) and
  // judged as a download is, with no URL. Skipped: `download_names` (the files of downloads, finished
  // or not: an unfinished download is dropped, never released) and partial files (.part,
  // .crdownload), empty files; a folder is dropped with a line. At most 1,000.
  void AdmitSavedFiles(const std::set<std::string>& download_names);

  const SessionOptions& o_;
  Launched l_;
  Quarantine& q_;
  UniqueFd incoming_;  // the directory the browser downloads into (session_driver.h AdmitFinished)
  JudgeQueue judge_;
  int64_t start_ms_ = NowMs(), last_event_ms_ = NowMs(), load_ms_ = -1;
  bool loaded_ = false, checked_ = false;
  std::string text_, navigate_error_;
  SandboxFacts facts_;
  std::vector<std::string> dropped_;  // downloads not admitted, one line each
};

}  // namespace airlock::browser
