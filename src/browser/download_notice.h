// Desktop notifications of judged downloads (docs/BROWSER.md, "Downloads are held and judged"): each
// verdict is told on the user's session bus, through the endpoint daemon's notifier (watch/notifier.h:
// a bounded queue that never blocks the judge, a rate limit, the owner's bus at BUS_DIR/UID/bus, and
// `airlock-watch notify-send` run with a clean environment; the file's owner is whom to tell).
//
// Contract:
//  - Clean and released: "DOWNLOAD is clean", the folder it is in. Suspicious: held, with the
//    `airlock downloads release ID` command. Malicious: stays in quarantine (urgent). Not judged:
//    held, with the reason.
//  - The file told of is the released copy (clean) or the held one (others): the user's own files,
//    so the notice goes to the user's bus. Root has none (no notification, as for the daemon); a
//    missing bus, a missing airlock-watch or a failed send costs nothing but the notification: the
//    verdict is still said on stderr and in `airlock downloads list`.
#pragma once

#include <memory>
#include <string>

#include "browser/quarantine.h"
#include "watch/notifier.h"

namespace airlock::browser {

// What the user reads for `d`, judged, at `path` (exposed for tests).
watch::NotifyMessage DownloadMessage(const HeldDownload& d, const std::string& path);

class DownloadNotices {
 public:
  // `bus_dir`: where session buses are (/run/user); empty: notifications off.
  explicit DownloadNotices(const std::string& bus_dir);
  void Tell(const HeldDownload& d, const std::string& path);  // never blocks

 private:
  std::unique_ptr<watch::Notifier> notifier_;
};

}  // namespace airlock::browser
