#include "analyze/browse_findings.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <sstream>

#include "core/json_text.h"
#include "core/unique_fd.h"

namespace airlock::analyze {

using nlohmann::json;

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Executables, archives and disk images by their first bytes: what smuggling delivers.
const char* PayloadType(const std::string& head) {
  struct Magic {
    const char* bytes;
    size_t len, offset;
    const char* type;
  };
  static const Magic kMagic[] = {
      {"\x7f" "ELF", 4, 0, "ELF executable"}, {"MZ", 2, 0, "PE executable"},
      {"PK\x03\x04", 4, 0, "zip archive"},     {"\x1f\x8b", 2, 0, "gzip archive"},
      {"7z\xbc\xaf\x27\x1c", 6, 0, "7z archive"}, {"Rar!\x1a\x07", 6, 0, "RAR archive"},
      {"ustar", 5, 257, "tar archive"},        {"CD001", 5, 32769, "ISO image"},
      {"#!", 2, 0, "script"},                  {"L\0\0\0\x01\x14\x02\0", 8, 0, "Windows shortcut"},
      {"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8, 0, "OLE2 document"},
  };
  for (const auto& m : kMagic) {
    if (head.size() >= m.offset + m.len && head.compare(m.offset, m.len, m.bytes, m.len) == 0) return m.type;
  }
  return nullptr;
}

// The first n bytes of `rel` under `root`, never following a symlink (the sandbox wrote that tree).
std::string ReadHeadBeneath(const std::string& root, const std::string& rel, size_t n) {
  UniqueFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return {};
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, dir.get(), rel.c_str(), &how, sizeof how)));
  if (!fd) return {};
  std::string s(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd.get(), s.data() + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  s.resize(got);
  return s;
}

}  // namespace

json ParseBrowseSummary(const std::string& stdout_text) {
  std::istringstream in(stdout_text);
  json found;
  for (std::string line; std::getline(in, line);) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) found = std::move(j);
  }
  if (found.is_null()) return json{{"error", "airlock-browse printed no summary"}};
  return found;
}

bool IsSvgSample(const std::string& head, const std::string& name) {
  std::string n = Lower(name);
  if (n.size() >= 4 && n.compare(n.size() - 4, 4, ".svg") == 0) return true;
  std::string h = Lower(head.substr(0, 4096));
  size_t svg = h.find("<svg"), html = h.find("<html");
  return svg != std::string::npos && (html == std::string::npos || svg < html);
}

std::vector<BehaviorHit> BrowseHits(const json& summary, bool svg, const std::string& sandbox_tmp) {
  std::vector<BehaviorHit> hits;
  if (!summary.contains("downloads") || !summary["downloads"].is_array()) return hits;
  for (const auto& d : summary["downloads"]) {
    std::string url = d.value("url", ""), path = d.value("path", "");
    std::string scheme = Lower(url.substr(0, url.find(':') == std::string::npos ? 0 : url.find(':')));
    const char* type = nullptr;
    if (path.rfind("/tmp/", 0) == 0) type = PayloadType(ReadHeadBeneath(sandbox_tmp, path.substr(5), 40000));
    bool smuggled = scheme == "blob" || scheme == "data";
    json evidence = {{"category", "browser_download"}, {"url", url}, {"suggested_name", d.value("suggested_name", "")},
                     {"state", d.value("state", "")}, {"path", path}, {"content", type ? type : "other"}};
    std::string title = svg ? "SVG script started a download without user interaction (SVG smuggling)"
                            : "Page script started a download without user interaction (HTML smuggling)";
    hits.push_back({svg ? "airlock-browser-svg-scripted-download" : "airlock-browser-scripted-download", title,
                    smuggled || type ? "high" : "medium", {svg ? "T1027.017" : "T1027.006"}, DumpJson(evidence)});
  }
  return hits;
}

void MarkDownloads(json& dropped, const json& summary) {
  if (!summary.contains("downloads") || !summary["downloads"].is_array()) return;
  for (auto& f : dropped) {
    for (const auto& d : summary["downloads"]) {
      if (!d.value("path", "").empty() && f.value("path", "") == d.value("path", "")) {
        f["download"] = {{"url", d.value("url", "")}, {"suggested_name", d.value("suggested_name", "")},
                         {"state", d.value("state", "")}};
      }
    }
  }
}

}  // namespace airlock::analyze
