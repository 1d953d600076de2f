#include "browser/quarantine.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "core/file_read.h"
#include "core/json_text.h"
#include "core/private_dir.h"
#include "core/report_envelope.h"
#include "core/unique_fd.h"
#include "watch/file_hash.h"
#include "watch/xattr_names.h"

namespace airlock::browser {
namespace fs = std::filesystem;
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] == '/' ? v : "";
}

std::string Home() {
  std::string h = Env("HOME");
  return h.empty() ? "/tmp" : h;
}

std::string NewId() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::random_device rd;
  return fmt::format("{}-{:06x}", stamp, rd() & 0xffffff);
}

// Copies `in` (from offset 0) to a new file `out_path` (O_EXCL, mode), returning bytes copied.
Result<uint64_t> CopyFd(int in, int dirfd, const std::string& name, mode_t mode) {
  UniqueFd out(::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!out) return ErrnoError("create " + name);
  char buf[64 << 10];
  uint64_t total = 0;
  for (off_t off = 0;;) {
    ssize_t n = ::pread(in, buf, sizeof buf, off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read");
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return ErrnoError("write " + name);
      done += w;
    }
    off += n;
    total += static_cast<uint64_t>(n);
  }
  if (::fsync(out.get()) != 0) return ErrnoError("fsync " + name);
  return total;
}

// "name (1).ext" for attempt 1, the name itself for 0.
std::string Numbered(const std::string& name, int n) {
  if (n == 0) return name;
  size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return fmt::format("{} ({})", name, n);
  return fmt::format("{} ({}){}", name.substr(0, dot), n, name.substr(dot));
}

void SetXattr(int fd, const char* key, const std::string& value, std::vector<std::string>& failed) {
  if (value.empty()) return;
  if (::fsetxattr(fd, key, value.data(), value.size(), 0) != 0) failed.push_back(fmt::format("{}: {}", key, std::strerror(errno)));
}

}  // namespace

std::string DefaultQuarantineDir() {
  std::string data = Env("XDG_DATA_HOME");
  return (data.empty() ? Home() + "/.local/share" : data) + "/airlock/downloads";
}

std::string UserDownloadsDir() {
  std::string config = Env("XDG_CONFIG_HOME");
  if (config.empty()) config = Home() + "/.config";
  if (auto text = ReadRegularFileBounded(config + "/user-dirs.dirs", 64 << 10, "user-dirs.dirs too large")) {
    size_t at = text->find("\nXDG_DOWNLOAD_DIR=");
    if (text->starts_with("XDG_DOWNLOAD_DIR=")) at = 0;
    else if (at != std::string::npos) ++at;
    if (at != std::string::npos) {
      std::string v = text->substr(at + 17, text->find('\n', at) - at - 17);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      if (v.starts_with("$HOME")) v = Home() + v.substr(5);
      if (!v.empty() && v[0] == '/' && v.find("/..") == std::string::npos) return v;
    }
  }
  return Home() + "/Downloads";
}

std::string SafeFileName(std::string_view suggested) {
  // The last path component only: a name carrying separators names no directory of ours.
  size_t slash = suggested.find_last_of("/\\");
  if (slash != std::string_view::npos) suggested.remove_prefix(slash + 1);
  std::string text = Utf8Text(suggested);  // invalid UTF-8 as \xNN: then '\\' becomes '_' below
  std::string out;
  for (unsigned char c : text) {
    bool bad = c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ':' || c == '*' || c == '?' || c == '"' ||
               c == '<' || c == '>' || c == '|';
    out += bad ? '_' : static_cast<char>(c);
  }
  while (!out.empty() && (out[0] == '.' || out[0] == '-' || out[0] == ' ')) out.erase(0, 1);
  while (!out.empty() && (out.back() == ' ' || out.back() == '.')) out.pop_back();
  if (out.size() > 150) {
    size_t cut = 150;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;  // whole characters only
    out.resize(cut);
  }
  return out.empty() ? "download" : out;
}

bool ValidId(std::string_view id) {
  if (id.size() != 22 || id[8] != '-' || id[15] != '-') return false;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 15) continue;
    char c = id[i];
    bool ok = i < 15 ? (c >= '0' && c <= '9') : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!ok) return false;
  }
  return true;
}

std::string RecordJson(const HeldDownload& d) {
  nlohmann::ordered_json j = {{"id", d.id},
                              {"name", d.name},
                              {"suggested_name", d.suggested_name},
                              {"url", d.url},
                              {"referrer", d.referrer},
                              {"scripted", d.scripted},
                              {"state", d.state},
                              {"verdict", d.verdict},
                              {"score", d.score},
                              {"techniques", d.techniques},
                              {"why", d.why},
                              {"sha256", d.sha256},
                              {"size", d.size},
                              {"finished_at", d.finished_at},
                              {"released_to", d.released_to}};
  return DumpJson(j);
}

nlohmann::json DownloadJson(const HeldDownload& d) {
  nlohmann::json j = nlohmann::json::parse(RecordJson(d));
  j["hashes"] = ReportHashes(d.sha256);
  const bool judged = d.verdict == kVerdictClean || d.verdict == kVerdictSuspicious || d.verdict == kVerdictMalicious;
  j["verdict"] = judged ? d.verdict : d.state == "judging" ? "pending" : std::string(kVerdictError);
  return j;
}

Result<HeldDownload> ParseRecord(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return MakeError("not a download record (invalid JSON)");
  HeldDownload d;
  try {
    d.id = j.value("id", "");
    d.name = j.value("name", "");
    d.suggested_name = j.value("suggested_name", "");
    d.url = j.value("url", "");
    d.referrer = j.value("referrer", "");
    d.scripted = j.value("scripted", false);
    d.state = j.value("state", "");
    d.verdict = j.value("verdict", "");
    d.score = j.value("score", 0.0);
    d.techniques = j.value("techniques", std::vector<std::string>{});
    d.why = j.value("why", "");
    d.sha256 = j.value("sha256", "");
    d.size = j.value("size", uint64_t{0});
    d.finished_at = j.value("finished_at", int64_t{0});
    d.released_to = j.value("released_to", "");
  } catch (const nlohmann::json::exception& e) {
    return MakeError(std::string("download record: ") + e.what());
  }
  if (!ValidId(d.id)) return MakeError("download record: bad id");
  return d;
}

Result<Quarantine> Quarantine::Open(std::string root) {
  if (auto made = MakePrivateDirs(root); !made) return std::unexpected(made.error().WithContext("download quarantine " + root));
  if (auto ok = CheckPrivateDir(root, "download quarantine"); !ok) return std::unexpected(ok.error());
  return Quarantine(std::move(root));
}

Result<HeldDownload> Quarantine::Admit(int fd, HeldDownload meta) {
  meta.id = NewId();
  const std::string dir = root_ + "/" + meta.id;
  if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoError("quarantine: mkdir " + dir);
  UniqueFd dfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dfd) return ErrnoError("quarantine: open " + dir);
  auto copied = CopyFd(fd, dfd.get(), "file", 0600);
  if (!copied) return std::unexpected(copied.error().WithContext("quarantine: copy into " + dir));
  UniqueFd held(::openat(dfd.get(), "file", O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!held) return ErrnoError("quarantine: reopen " + dir + "/file");
  auto sha = watch::Sha256OfFd(held.get());
  if (!sha) return std::unexpected(sha.error().WithContext("quarantine: hash"));
  meta.sha256 = *sha;
  meta.size = *copied;
  meta.name = SafeFileName(meta.suggested_name);
  meta.state = "judging";
  meta.finished_at = static_cast<int64_t>(std::time(nullptr));
  if (auto saved = Save(meta); !saved) return std::unexpected(saved.error());
  return meta;
}

Status Quarantine::Save(const HeldDownload& d) const {
  if (!ValidId(d.id)) return MakeError("quarantine: bad id");
  const std::string path = root_ + "/" + d.id + "/meta.json", tmp = path + ".tmp";
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return ErrnoError("quarantine: write " + tmp);
  std::string text = RecordJson(d) + "\n";
  if (::write(out.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) || ::fsync(out.get()) != 0) {
    return ErrnoError("quarantine: write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError("quarantine: rename " + tmp);
  return Ok();
}

Result<HeldDownload> Quarantine::Load(std::string_view id) const {
  if (!ValidId(id)) return MakeError(fmt::format("'{}' is no download id (see `airlock downloads list`)", Utf8Text(id)));
  auto text = ReadRegularFileBounded(root_ + "/" + std::string(id) + "/meta.json", 1 << 20, "download record too large");
  if (!text) return std::unexpected(text.error().WithContext(fmt::format("no download {} in {}", id, root_)));
  auto d = ParseRecord(*text);
  if (d && d->id != id) return MakeError("download record " + std::string(id) + " names another id");
  return d;
}

Result<std::vector<HeldDownload>> Quarantine::List() const {
  std::vector<HeldDownload> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_, ec)) {
    std::string id = e.path().filename().string();
    if (!ValidId(id)) continue;
    if (auto d = Load(id)) out.push_back(std::move(*d));
  }
  if (ec) return MakeError("list " + root_ + ": " + ec.message(), ec.value());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<std::string> Quarantine::Release(HeldDownload& d, const std::string& downloads_dir, bool confirmed) const {
  if (d.state == "released") return MakeError(fmt::format("download {} was already released to {}", d.id, d.released_to));
  if (d.verdict == "malicious") return MakeError(fmt::format("download {} is malicious: it stays in quarantine (`airlock downloads delete {}`)", d.id, d.id));
  if (d.state == "judging" || d.state == "unjudged" || d.verdict.empty()) {
    return MakeError(fmt::format("download {} has no verdict yet ({}): nothing is released unjudged", d.id, d.state));
  }
  if (d.verdict != "clean" && !confirmed) return MakeError(fmt::format("download {} is {}: release it with `airlock downloads release {}`", d.id, d.verdict, d.id));
  if (auto made = MakePrivateDirs(downloads_dir); !made) return std::unexpected(made.error().WithContext("Downloads"));
  UniqueFd in(::open(FilePath(d).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return ErrnoError("quarantine: open " + FilePath(d));
  auto sha = watch::Sha256OfFd(in.get());
  if (!sha || *sha != d.sha256) return MakeError(fmt::format("download {}: its held copy no longer has SHA-256 {}: not released", d.id, d.sha256));
  UniqueFd dir(::open(downloads_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return ErrnoError("open " + downloads_dir);
  std::string name;
  Result<uint64_t> copied = MakeError("no free name");
  for (int n = 0; n < 1000; ++n) {
    name = Numbered(d.name, n);
    copied = CopyFd(in.get(), dir.get(), name, 0666);
    if (copied || copied.error().err() != EEXIST) break;
  }
  if (!copied) return std::unexpected(copied.error().WithContext("release into " + downloads_dir));
  UniqueFd out(::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!out) return ErrnoError("reopen " + name);
  std::vector<std::string> failed;
  const std::string verdict = d.verdict == "clean" ? "clean" : "released";
  SetXattr(out.get(), watch::kOriginXattr, Utf8Text(d.url), failed);
  SetXattr(out.get(), watch::kVerdictXattr, fmt::format("{} sha256:{} {}", verdict, d.sha256, std::time(nullptr)), failed);
  SetXattr(out.get(), "user.xdg.origin.url", Utf8Text(d.url), failed);
  SetXattr(out.get(), "user.xdg.referrer.url", Utf8Text(d.referrer), failed);
  d.state = "released";
  d.released_to = downloads_dir + "/" + name;
  if (!failed.empty()) d.why = "released without its extended attributes (" + failed.front() + ")";
  if (auto saved = Save(d); !saved) return std::unexpected(saved.error());
  return d.released_to;
}

Status Quarantine::Delete(std::string_view id) const {
  auto d = Load(id);
  if (!d) return std::unexpected(d.error());
  std::error_code ec;
  fs::remove_all(root_ + "/" + d->id, ec);
  if (ec) return MakeError("delete " + root_ + "/" + d->id + ": " + ec.message(), ec.value());
  return Ok();
}

}  // namespace airlock::browser
