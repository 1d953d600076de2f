#include "core/json_text.h"
#include "milter/quarantine_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/private_dir.h"

namespace airlock::milter {
namespace {

namespace fs = std::filesystem;

Status WriteFile0600(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoError("quarantine: create " + path);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto e = ErrnoError("quarantine: write " + path);
      ::close(fd);
      return e;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return ErrnoError("quarantine: close " + path);
  return Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return MakeError("quarantine: cannot read " + path, ENOENT);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::string NewId() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y%m%dT%H%M%S", &tm);
  std::random_device rd;
  char rnd[16];
  std::snprintf(rnd, sizeof rnd, "%08x", rd());
  return std::string(ts) + "-" + rnd;
}

}  // namespace

nlohmann::json MetaToJson(const QuarantineMeta& m) {
  return {{"id", m.id}, {"queue_id", m.queue_id}, {"sender", m.sender}, {"recipients", m.recipients},
          {"time", m.time}, {"verdict", m.verdict}, {"score", m.score}, {"techniques", m.techniques}};
}

QuarantineMeta MetaFromJson(const nlohmann::json& j) {
  QuarantineMeta m;
  m.id = j.value("id", "");
  m.queue_id = j.value("queue_id", "");
  m.sender = j.value("sender", "");
  m.recipients = j.value("recipients", std::vector<std::string>{});
  m.time = j.value("time", "");
  m.verdict = j.value("verdict", "");
  m.score = j.value("score", 0.0);
  m.techniques = j.value("techniques", std::vector<std::string>{});
  return m;
}

bool ValidQuarantineId(const std::string& id) {
  // yyyymmddThhmmss-xxxxxxxx
  if (id.size() != 24 || id[8] != 'T' || id[15] != '-') return false;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 15) continue;
    char c = id[i];
    bool ok = i < 15 ? (c >= '0' && c <= '9') : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!ok) return false;
  }
  return true;
}

Result<std::string> QuarantineStore::Add(QuarantineMeta& meta, const std::string& message, const std::string& report_json) {
  if (auto made = MakePrivateDirs(dir_); !made) return std::unexpected(std::move(made.error()).WithContext("quarantine"));
  ::chmod(dir_.c_str(), 0700);
  std::error_code ec;
  for (int attempt = 0; attempt < 5; ++attempt) {
    meta.id = NewId();
    std::string tmp = dir_ + "/." + meta.id + ".tmp";
    if (::mkdir(tmp.c_str(), 0700) != 0) {
      if (errno == EEXIST) continue;
      return ErrnoError("quarantine: mkdir " + tmp);
    }
    if (auto s = WriteFile0600(tmp + "/message.eml", message); !s) return std::unexpected(s.error());
    if (auto s = WriteFile0600(tmp + "/report.json", report_json); !s) return std::unexpected(s.error());
    if (auto s = WriteFile0600(tmp + "/meta.json", DumpJson(MetaToJson(meta), 2) + "\n"); !s) return std::unexpected(s.error());
    std::string final_dir = dir_ + "/" + meta.id;
    if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
      if (errno == EEXIST || errno == ENOTEMPTY) {
        fs::remove_all(tmp, ec);
        continue;
      }
      return ErrnoError("quarantine: rename to " + final_dir);
    }
    return meta.id;
  }
  return MakeError("quarantine: could not allocate an id", EEXIST);
}

Result<std::vector<QuarantineMeta>> QuarantineStore::List() const {
  std::vector<QuarantineMeta> out;
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    std::string id = e.path().filename().string();
    if (!ValidQuarantineId(id)) continue;
    auto m = Meta(id);
    if (m) out.push_back(*m);
  }
  if (ec) return MakeError("quarantine: list " + dir_ + ": " + ec.message(), ec.value());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<QuarantineMeta> QuarantineStore::Meta(const std::string& id) const {
  if (!ValidQuarantineId(id)) return MakeError("quarantine: no entry '" + id + "'", ENOENT);
  auto text = ReadFile(dir_ + "/" + id + "/meta.json");
  if (!text) return MakeError("quarantine: no entry '" + id + "'", ENOENT);
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return MakeError("quarantine: " + id + "/meta.json is not JSON", EINVAL);
  return MetaFromJson(j);
}

Result<std::string> QuarantineStore::Message(const std::string& id) const {
  if (!ValidQuarantineId(id)) return MakeError("quarantine: no entry '" + id + "'", ENOENT);
  return ReadFile(dir_ + "/" + id + "/message.eml");
}

Result<std::string> QuarantineStore::Report(const std::string& id) const {
  if (!ValidQuarantineId(id)) return MakeError("quarantine: no entry '" + id + "'", ENOENT);
  return ReadFile(dir_ + "/" + id + "/report.json");
}

Status QuarantineStore::Remove(const std::string& id) {
  if (!ValidQuarantineId(id)) return MakeError("quarantine: no entry '" + id + "'", ENOENT);
  std::string d = dir_ + "/" + id;
  std::error_code ec;
  if (!fs::is_directory(d, ec)) return MakeError("quarantine: no entry '" + id + "'", ENOENT);
  fs::remove_all(d, ec);
  if (ec) return MakeError("quarantine: remove " + d + ": " + ec.message(), ec.value());
  return Ok();
}

}  // namespace airlock::milter
