#include "analyze/browse_watch.h"

#include <cctype>

#include "core/json_text.h"

namespace airlock::analyze {

using nlohmann::json;

namespace {

std::string Str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t Int(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number() ? static_cast<int64_t>(it->get<double>()) : 0;
}

// The text of a console call: its arguments' values or descriptions joined by spaces.
std::string ConsoleText(const json& args) {
  std::string text;
  if (!args.is_array()) return text;
  for (const auto& a : args) {
    if (!a.is_object()) continue;
    std::string part;
    if (auto v = a.find("value"); v != a.end()) part = v->is_string() ? v->get<std::string>() : DumpJson(*v);
    else part = Str(a, "description");
    if (!text.empty()) text += ' ';
    text += part;
    if (text.size() > 4096) break;
  }
  return text;
}

}  // namespace

std::string SafeDownloadName(const std::string& suggested, const std::string& guid) {
  std::string base = suggested.substr(suggested.find_last_of("/\\") == std::string::npos ? 0 : suggested.find_last_of("/\\") + 1);
  std::string out;
  for (unsigned char c : base) {
    if (out.size() >= 100) break;
    out += std::isalnum(c) || c == '.' || c == '_' || c == '-' ? static_cast<char>(c) : '_';
  }
  while (!out.empty() && out[0] == '.') out[0] = '_';
  bool usable = out.find_first_not_of("._") != std::string::npos;
  return usable ? out : (guid.empty() ? std::string("download") : SafeDownloadName(guid, ""));
}

std::string PageWatch::Clip(const std::string& s) const {
  if (s.size() <= limits_.max_text) return s;
  return s.substr(0, limits_.max_text) + "...(" + std::to_string(s.size()) + " bytes)";
}

BrowseDownload* PageWatch::Find(const std::string& guid) {
  for (auto& d : downloads_)
    if (d.guid == guid) return &d;
  return nullptr;
}

void PageWatch::Navigating(int64_t now_ms) {
  navigating_ = true;
  navigate_ms_ = last_activity_ms_ = now_ms;
}

void PageWatch::OnEvent(const cdp::Message& m, int64_t now_ms) {
  const json& p = m.params;
  if (m.method == "Page.loadEventFired") {
    loaded_ = true;
    last_activity_ms_ = now_ms;
  } else if (m.method == "Page.frameNavigated") {
    if (auto f = p.find("frame"); f != p.end() && f->is_object() && Room(navigations_.size())) {
      navigations_.push_back(Clip(Str(*f, "url") + Str(*f, "urlFragment")));
    }
    last_activity_ms_ = now_ms;
  } else if (m.method == "Browser.downloadWillBegin") {
    last_activity_ms_ = now_ms;
    std::string guid = Str(p, "guid");
    if (Find(guid) || !Room(downloads_.size())) return;
    downloads_.push_back({guid, Clip(Str(p, "url")), Clip(Str(p, "suggestedFilename"))});
  } else if (m.method == "Browser.downloadProgress") {
    last_activity_ms_ = now_ms;
    BrowseDownload* d = Find(Str(p, "guid"));
    if (!d) return;
    if (std::string state = Str(p, "state"); !state.empty()) d->state = state;
    d->received_bytes = Int(p, "receivedBytes");
    d->total_bytes = Int(p, "totalBytes");
  } else if (m.method == "Network.requestWillBeSent") {
    if (auto r = p.find("request"); r != p.end() && r->is_object() && Room(requests_.size())) {
      requests_.push_back({{"url", Clip(Str(*r, "url"))}, {"method", Str(*r, "method")}, {"type", Str(p, "type")}});
    }
  } else if (m.method == "Runtime.consoleAPICalled") {
    std::string type = Str(p, "type");
    if ((type == "error" || type == "warning" || type == "assert") && Room(console_.size())) {
      console_.push_back({{"level", type}, {"text", Clip(ConsoleText(p.value("args", json::array())))}});
    }
  } else if (m.method == "Runtime.exceptionThrown") {
    if (auto d = p.find("exceptionDetails"); d != p.end() && d->is_object() && Room(console_.size())) {
      std::string text = Str(*d, "text");
      if (auto e = d->find("exception"); e != d->end() && e->is_object() && !Str(*e, "description").empty())
        text = Str(*e, "description");
      console_.push_back({{"level", "exception"}, {"text", Clip(text)}});
    }
  } else if (m.method == "Target.targetCreated") {
    if (auto t = p.find("targetInfo"); t != p.end() && t->is_object() && Str(*t, "type") == "page" &&
                                       !Str(*t, "openerId").empty() && Room(popups_.size())) {
      popups_.push_back(Clip(Str(*t, "url")));
      last_activity_ms_ = now_ms;
    }
  } else if (m.method == "Inspector.targetCrashed" || m.method == "Target.targetCrashed") {
    crashed_ = true;
  }
}

bool PageWatch::DownloadsInProgress() const {
  for (const auto& d : downloads_)
    if (d.state == "inProgress") return true;
  return false;
}

bool PageWatch::Settled(int64_t now_ms) const {
  if (!navigating_) return false;
  bool load_done = loaded_ || crashed_ || !navigate_error_.empty() || now_ms - navigate_ms_ >= limits_.load_wait_ms;
  return load_done && !DownloadsInProgress() && now_ms - last_activity_ms_ >= limits_.settle_ms;
}

json PageWatch::Summary() const {
  json downloads = json::array();
  for (const auto& d : downloads_) {
    downloads.push_back({{"guid", d.guid}, {"url", d.url}, {"suggested_name", d.suggested_name}, {"state", d.state},
                         {"path", d.path}, {"received_bytes", d.received_bytes}, {"total_bytes", d.total_bytes}});
  }
  json out = {{"loaded", loaded_},     {"crashed", crashed_},   {"downloads", downloads}, {"navigations", navigations_},
              {"requests", requests_}, {"console", console_},   {"popups", popups_},      {"dropped_items", dropped_items_}};
  if (!navigate_error_.empty()) out["navigate_error"] = navigate_error_;
  return out;
}

}  // namespace airlock::analyze
