#include "browser/download_notice.h"

#include <cstdio>

#include "core/helper_path.h"
#include "process/spawn.h"

namespace airlock::browser {

watch::NotifyMessage DownloadMessage(const HeldDownload& d, const std::string& path) {
  const std::string name = watch::DisplayText(d.name, 200), shown = watch::EscapeMarkup(watch::DisplayText(path));
  const std::string from = d.url.empty() ? "" : " It came from " + watch::EscapeMarkup(watch::DisplayText(d.url, 200)) + ".";
  watch::NotifyMessage m;
  m.icon = "dialog-warning";
  m.category = "x-airlock.download";
  if (d.state == "released") {
    m.kind = "clean";
    m.icon = "dialog-information";
    m.summary = "airlock: download " + name + " is clean";
    m.body = "It was checked and released to " + shown + "." + from;
  } else if (d.verdict == "malicious") {
    m.kind = "malicious";
    m.critical = true;
    m.summary = "airlock: download " + name + " is malicious";
    m.body = "It stays in quarantine and was not given to you." + from + " To remove it: airlock downloads delete " + d.id;
  } else if (d.verdict == "suspicious") {
    m.kind = "suspicious";
    m.summary = "airlock: download " + name + " is held (suspicious)";
    m.body = "It is in quarantine." + from + " To take it anyway: airlock downloads release " + d.id;
  } else if (d.verdict == "clean") {
    m.kind = "unreleased";
    m.summary = "airlock: download " + name + " is clean but was not released";
    m.body = watch::EscapeMarkup(watch::DisplayText(d.why, 300)) + from;
  } else {
    m.kind = "unjudged";
    m.summary = "airlock: download " + name + " is held (not judged)";
    m.body = watch::EscapeMarkup(watch::DisplayText(d.why, 300)) + from;
  }
  return m;
}

DownloadNotices::DownloadNotices(const std::string& bus_dir) {
  if (bus_dir.empty()) return;
  watch::NotifierOptions o;
  o.level = watch::NotifyLevel::kAll;  // every download's verdict is told
  o.bus_dir = bus_dir;
  const std::string env = process::FindSystemProgram("env"), sender = FindHelper("airlock-watch");
  if (env.empty() || sender.empty()) return;  // nothing to send with: the verdicts are still said
  o.send_argv = {env, "-i", sender, "notify-send"};
  o.log = [](std::string line) {
    if (line.find(" failed") != std::string::npos) std::fprintf(stderr, "airlock browser: %s\n", line.c_str());
  };
  notifier_ = std::make_unique<watch::Notifier>(std::move(o));
}

void DownloadNotices::Tell(const HeldDownload& d, const std::string& path) {
  if (!notifier_) return;
  watch::Notice n;
  n.path = path;
  n.sha256 = d.sha256;
  n.message = DownloadMessage(d, path);  // our own wording: wanted at any level but off
  notifier_->Notify(std::move(n));
}

}  // namespace airlock::browser
