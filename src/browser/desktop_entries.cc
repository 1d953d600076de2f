#include "browser/desktop_entries.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/private_dir.h"
#include "process/spawn.h"

namespace airlock::browser {
namespace {

constexpr const char* kDocumentTypes =
    "application/pdf;application/postscript;application/rtf;text/plain;text/csv;image/png;image/jpeg;image/gif;image/svg+xml;"
    "application/msword;application/vnd.ms-excel;application/vnd.ms-powerpoint;"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document;"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;"
    "application/vnd.openxmlformats-officedocument.presentationml.presentation;"
    "application/vnd.oasis.opendocument.text;application/vnd.oasis.opendocument.spreadsheet;"
    "application/vnd.oasis.opendocument.presentation;";

// Exec quoting (Desktop Entry Specification): a path with reserved characters is double-quoted,
// with ", `, $ and \ escaped by a backslash.
std::string QuotedExec(const std::string& path) {
  if (path.find_first_of(" \t\n\"'\\><~|&;$*?#()`") == std::string::npos) return path;
  std::string out = "\"";
  for (char c : path) {
    if (c == '"' || c == '`' || c == '$' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Status WriteReplacing(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return MakeError("cannot write " + tmp + ": " + std::strerror(errno));
  const bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  const bool closed = ::close(fd) == 0;
  if (!ok || !closed || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return MakeError("cannot write " + path + ": " + std::strerror(e));
  }
  return Ok();
}

void RefreshMimeCache(const std::string& dir) {
  if (::access("/usr/bin/update-desktop-database", X_OK) != 0) return;
  auto r = process::SpawnAndCapture({"/usr/bin/update-desktop-database", dir});
  if (!r || r->exit_code != 0) std::fprintf(stderr, "airlock desktop: update-desktop-database %s failed (the entries are written)\n", dir.c_str());
}

}  // namespace

std::vector<std::pair<std::string, std::string>> DesktopEntries(const std::string& airlock_path) {
  const std::string exec = QuotedExec(airlock_path);
  return {
      {"airlock-chromium.desktop",
       "[Desktop Entry]\nType=Application\nVersion=1.4\nName=Chromium (airlock)\nGenericName=Web Browser (sandboxed)\n"
       "Comment=Chromium inside an airlock sandbox; every download is held and judged before you get it\n"
       "Exec=" + exec + " browser %u\nIcon=chromium\nTerminal=false\nStartupNotify=true\nCategories=Network;WebBrowser;\n"
       "MimeType=text/html;x-scheme-handler/http;x-scheme-handler/https;\n"},
      {"airlock-open.desktop",
       "[Desktop Entry]\nType=Application\nVersion=1.4\nName=Open in airlock\n"
       "Comment=Open the file with its usual application inside a disposable sandbox with no network\n"
       "Exec=" + exec + " open %f\nIcon=security-high\nTerminal=false\nNoDisplay=true\nCategories=Utility;\n"
       "MimeType=" + kDocumentTypes + "\n"},
  };
}

std::string DefaultApplicationsDir() {
  const char* data = std::getenv("XDG_DATA_HOME");
  if (data != nullptr && data[0] == '/') return std::string(data) + "/applications";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && home[0] == '/' ? home : "/root") + "/.local/share/applications";
}

Status InstallDesktopEntries(const std::string& dir, const std::string& airlock_path) {
  if (airlock_path.empty() || airlock_path[0] != '/') return MakeError("the airlock front end was not found (AIRLOCK_BIN?)");
  if (auto made = MakePrivateDirs(dir); !made) return made;
  for (const auto& [name, content] : DesktopEntries(airlock_path)) {
    if (auto w = WriteReplacing(dir + "/" + name, content); !w) return w;
    std::printf("installed %s/%s\n", dir.c_str(), name.c_str());
  }
  RefreshMimeCache(dir);
  return Ok();
}

Status UninstallDesktopEntries(const std::string& dir) {
  for (const auto& entry : DesktopEntries("/x")) {
    const std::string path = dir + "/" + entry.first;
    if (::unlink(path.c_str()) == 0) std::printf("removed %s\n", path.c_str());
    else if (errno != ENOENT) return MakeError("cannot remove " + path + ": " + std::strerror(errno));
  }
  RefreshMimeCache(dir);
  return Ok();
}

}  // namespace airlock::browser
