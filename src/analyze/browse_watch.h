// What airlock-browse records about one page: the CDP events it sees (downloads, navigations,
// requests, console errors, popups) and when the page has settled. Pure logic, fed with parsed
// messages and a monotonic clock in milliseconds; no I/O.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "analyze/browse_cdp.h"

namespace airlock::analyze {

struct BrowseDownload {
  std::string guid, url, suggested_name;
  std::string state = "inProgress";  // inProgress | completed | canceled
  std::string path;                  // final path once completed (set by the driver)
  int64_t received_bytes = 0, total_bytes = 0;
};

struct WatchLimits {
  size_t max_items = 200;     // per list (requests, navigations, console, popups, downloads)
  size_t max_text = 512;      // per URL or message (data: and blob: URLs can be megabytes)
  int64_t settle_ms = 2500;   // quiet time after load (and after the last download event)
  int64_t load_wait_ms = 10000;  // how long to wait for the load event after navigating
};

class PageWatch {
 public:
  explicit PageWatch(WatchLimits limits = {}) : limits_(limits) {}

  // Every event from Chromium (replies are not events). `now_ms`: monotonic clock.
  void OnEvent(const cdp::Message& m, int64_t now_ms);
  // The driver calls this when it sent Page.navigate.
  void Navigating(int64_t now_ms);
  void NavigateFailed(const std::string& error) { navigate_error_ = Clip(error); }

  // True when there is nothing more to wait for: navigation started, the page loaded (or the load
  // wait passed), no download is in progress, and nothing happened for settle_ms.
  bool Settled(int64_t now_ms) const;
  bool DownloadsInProgress() const;

  std::vector<BrowseDownload>& downloads() { return downloads_; }
  const std::vector<BrowseDownload>& downloads() const { return downloads_; }
  bool loaded() const { return loaded_; }

  // {"loaded", "navigate_error", "downloads": [...], "navigations": [...], "requests": [...],
  //  "console": [...], "popups": [...], "dropped_items": N}
  nlohmann::json Summary() const;

 private:
  std::string Clip(const std::string& s) const;
  bool Room(size_t size) {
    if (size < limits_.max_items) return true;
    ++dropped_items_;
    return false;
  }
  BrowseDownload* Find(const std::string& guid);

  WatchLimits limits_;
  bool navigating_ = false, loaded_ = false, crashed_ = false;
  int64_t navigate_ms_ = 0, last_activity_ms_ = 0;
  std::string navigate_error_;
  std::vector<BrowseDownload> downloads_;
  std::vector<std::string> navigations_;
  nlohmann::json requests_ = nlohmann::json::array();
  nlohmann::json console_ = nlohmann::json::array();
  std::vector<std::string> popups_;
  size_t dropped_items_ = 0;
};

// A download's file name from the page's suggested name (untrusted): only [A-Za-z0-9._-], no leading
// dot, at most 100 characters; the GUID when nothing usable is left.
std::string SafeDownloadName(const std::string& suggested, const std::string& guid);

}  // namespace airlock::analyze
