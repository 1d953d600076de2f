// The download quarantine of `airlock browser` (docs/BROWSER.md, "Downloads are held and judged"):
// every finished download is copied out of the browser's sandbox into a private store, judged, and
// released to the user's real Downloads only with a verdict.
//
// Layout: <root> (0700, default $XDG_DATA_HOME/airlock/downloads) holds one directory per download,
// named by its id ("20261206-004100-1a2b3c"), with `file` (the content as copied out of the sandbox:
// what is judged is what is released) and `meta.json` (the record below). Ids are checked against
// their pattern before any path is built from them (`release ../x` is refused).
//
// Contract:
//  - Admit copies from an open descriptor (the caller opened it O_NOFOLLOW, regular file) while
//    hashing, so a sandbox that rewrites its copy later changes nothing here; the record starts in
//    state "judging".
//  - Release writes into the Downloads directory with O_EXCL under a sanitized name (never replacing
//    a file: "name (1).ext" ...), then sets kOriginXattr and kVerdictXattr (watch/xattr_names.h) and
//    the freedesktop user.xdg.origin.url / user.xdg.referrer.url. Only "clean" records are released
//    without `confirmed`; "suspicious" needs it; "malicious", "judging" and "unjudged" never are.
//  - Every function is safe against ids, names and URLs from the page: names are sanitized, ids
//    validated, JSON written with core/json_text.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace airlock::browser {

struct HeldDownload {
  std::string id;
  std::string name;             // sanitized file name used on release
  std::string suggested_name;   // as the page named it (may hold any bytes)
  std::string url;              // the download's URL (blob:/data: for script-built files)
  std::string referrer;         // the page that started it, when known
  bool scripted = false;        // built by a page script (blob: or data: URL): never released unjudged
  std::string state;            // judging | held | released | malicious | unjudged
  std::string verdict;          // clean | suspicious | malicious ("" while judging)
  double score = 0;
  std::vector<std::string> techniques;
  std::string why;              // one line: why it is held, or what failed
  std::string sha256;
  uint64_t size = 0;
  int64_t finished_at = 0;      // unix time the download completed
  std::string released_to;      // the path it was released to
};

// $XDG_DATA_HOME/airlock/downloads, else $HOME/.local/share/airlock/downloads.
std::string DefaultQuarantineDir();
// The user's Downloads: XDG_DOWNLOAD_DIR from $XDG_CONFIG_HOME/user-dirs.dirs ($HOME expanded), else
// $HOME/Downloads.
std::string UserDownloadsDir();
// A file name safe as one path component: no '/', NUL, control bytes or invalid UTF-8 (each becomes
// '_'), no leading dot or '-', at most 150 bytes, "download" when nothing is left.
std::string SafeFileName(std::string_view suggested);
// True when `id` has the form Admit gives ("YYYYMMDD-HHMMSS-xxxxxx", lower-case hex).
bool ValidId(std::string_view id);

class Quarantine {
 public:
  // Creates the root (private, core/private_dir.h) if needed.
  [[nodiscard]] static Result<Quarantine> Open(std::string root);
  const std::string& root() const { return root_; }

  // Copies `fd` into a new entry and saves its record (state "judging"); fills id, sha256, size.
  [[nodiscard]] Result<HeldDownload> Admit(int fd, HeldDownload meta);
  [[nodiscard]] Status Save(const HeldDownload& d) const;
  [[nodiscard]] Result<HeldDownload> Load(std::string_view id) const;
  [[nodiscard]] Result<std::vector<HeldDownload>> List() const;  // oldest first
  std::string FilePath(const HeldDownload& d) const { return root_ + "/" + d.id + "/file"; }
  // Copies the file into `downloads_dir` (created if missing) as described above and saves the record
  // as "released". Refuses with the reason what may not be released.
  [[nodiscard]] Result<std::string> Release(HeldDownload& d, const std::string& downloads_dir, bool confirmed) const;
  [[nodiscard]] Status Delete(std::string_view id) const;

 private:
  explicit Quarantine(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// The record as JSON text and back (meta.json, the store's own format).
std::string RecordJson(const HeldDownload& d);
[[nodiscard]] Result<HeldDownload> ParseRecord(const std::string& text);
// The record as reports show it (`airlock downloads list --json`, the browser's --report;
// docs/schema/downloads.schema.json "download"): the stored fields, with `hashes: {sha256}` (and the
// old `sha256` for one release), and `verdict` one of the envelope's: "pending" while judging,
// "error" when it could not be judged, never "" and never clean unless judged clean.
nlohmann::json DownloadJson(const HeldDownload& d);

}  // namespace airlock::browser
