#include "cli/running.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup_fs.h"
#include "core/clock.h"
#include "core/file_read.h"
#include "core/json_text.h"
#include "core/private_dir.h"
#include "core/runtime_dir.h"
#include "sandbox/control.h"

namespace airlock::cli {

namespace {

constexpr size_t kMaxRecord = 64 * 1024;

std::string RegistryDir(const std::string& runtime_dir) { return runtime_dir + "/running"; }

std::string RandomId() {
  unsigned char b[6] = {};
  if (::getrandom(b, sizeof b, 0) != sizeof b) {
    const auto t = static_cast<unsigned long long>(::getpid()) ^ static_cast<unsigned long long>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::memcpy(b, &t, sizeof b);
  }
  std::string id;
  for (unsigned char c : b) id += fmt::format("{:02x}", c);
  return id;
}

nlohmann::json ToJson(const RunningRecord& r) {
  return {{"id", r.id}, {"name", r.name}, {"pid", r.pid}, {"start_ticks", r.start_ticks}, {"uid", r.uid},
          {"command", r.command}, {"profile", r.profile}, {"net", r.net}, {"box", r.box}, {"started", r.started}};
}

std::optional<RunningRecord> ReadRecord(const std::string& dir, const std::string& file) {
  auto text = ReadRegularFileBounded(dir + "/" + file, kMaxRecord, "record too large");
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  RunningRecord r;
  try {
    r.id = j.value("id", "");
    r.name = j.value("name", "");
    r.pid = j.value("pid", 0);
    r.start_ticks = j.value("start_ticks", 0ULL);
    r.uid = j.value("uid", 0U);
    r.command = j.value("command", std::vector<std::string>{});
    r.profile = j.value("profile", "");
    r.net = j.value("net", "");
    r.box = j.value("box", "");
    r.started = j.value("started", "");
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  if (r.id + ".json" != file) return std::nullopt;
  r.dir = dir;
  return r;
}

void RemoveEntry(const std::string& dir, const std::string& id) {
  ::unlink(fmt::format("{}/{}.sock", dir, id).c_str());
  ::unlink(fmt::format("{}/{}.json", dir, id).c_str());
}

// Live records of one registry directory; stale ones removed.
void CollectDir(const std::string& dir, std::vector<RunningRecord>* out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (const struct dirent* e = ::readdir(d)) {
    std::string file = e->d_name;
    // A socket without its record is garbage: a run makes its record first and removes it last.
    if (file.size() > 5 && file.substr(file.size() - 5) == ".sock") {
      const std::string json = dir + "/" + file.substr(0, file.size() - 5) + ".json";
      if (::access(json.c_str(), F_OK) != 0 && errno == ENOENT) ::unlink((dir + "/" + file).c_str());
      continue;
    }
    if (file.size() <= 5 || file.substr(file.size() - 5) != ".json") continue;
    auto r = ReadRecord(dir, file);
    if (!r) continue;
    if (IsLive(*r)) out->push_back(std::move(*r));
    else RemoveEntry(dir, r->id);
  }
  ::closedir(d);
}

// Writes the record under its id with link(): fails with EEXIST when a live run holds the id; a
// stale one is replaced.
Status ClaimRecord(const std::string& dir, const RunningRecord& rec, const std::string& path) {
  const std::string tmp = fmt::format("{}/.{}.{}.tmp", dir, rec.id, rec.pid);
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return ErrnoError(fmt::format("cannot write {}", tmp));
    const std::string text = DumpJson(ToJson(rec)) + "\n";
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      ::unlink(tmp.c_str());
      return ErrnoError(fmt::format("cannot write {}", tmp));
    }
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (::link(tmp.c_str(), path.c_str()) == 0) break;
    const int err = errno;
    auto old = err == EEXIST ? ReadRecord(dir, rec.id + ".json") : std::nullopt;
    if (err == EEXIST && old && IsLive(*old)) {
      ::unlink(tmp.c_str());
      return MakeError(fmt::format("the name '{}' is in use by the sandbox started {} (airlock pid {}): choose another "
                                   "--name, or end that one with `airlock stop {}`", rec.id, old->started, old->pid, rec.id));
    }
    if (err != EEXIST || attempt == 1) {
      ::unlink(tmp.c_str());
      return MakeError(fmt::format("cannot register {}: {}", path, std::strerror(err)), err);
    }
    RemoveEntry(dir, rec.id);  // stale: its airlock is gone
  }
  ::unlink(tmp.c_str());
  return Ok();
}

}  // namespace

bool IsLive(const RunningRecord& r) {
  const uint64_t ticks = r.pid > 0 ? cgroupfs::ProcessStartTime(r.pid) : 0;
  return ticks != 0 && ticks == r.start_ticks;
}

Status ValidateRunName(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 40 && name[0] != '.' && name[0] != '-' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
                  });
  if (ok) return Ok();
  return MakeError(fmt::format("--name '{}': use 1 to 40 letters, digits, '_', '.' or '-', not starting with '.' or '-'", name));
}

std::string ControlSocketPath(const RunningRecord& record) { return fmt::format("{}/{}.sock", record.dir, record.id); }

Result<Registration> Registration::Create(RunningRecord record) {
  const std::string dir = RegistryDir(UserRuntimeDir(/*create=*/true));
  if (auto s = MakePrivateDirs(dir); !s) return std::unexpected(s.error().WithContext("sandbox registry"));
  if (auto s = CheckPrivateDir(dir, "the sandbox registry"); !s) return std::unexpected(s.error());
  record.pid = ::getpid();
  record.uid = ::geteuid();
  record.start_ticks = cgroupfs::OwnStartTime();
  record.started = UtcTimeNow();
  record.dir = dir;
  if (record.id.empty()) record.id = record.name.empty() ? RandomId() : record.name;
  const std::string json_path = fmt::format("{}/{}.json", dir, record.id);
  if (auto s = ClaimRecord(dir, record, json_path); !s) return std::unexpected(s.error());
  Registration reg;  // from here on, its destructor removes what was made
  reg.json_path_ = json_path;
  reg.sock_path_ = ControlSocketPath(record);
  ::unlink(reg.sock_path_.c_str());  // a stale run's (ClaimRecord made the id ours)
  auto listener = ListenControl(reg.sock_path_);
  if (!listener) return std::unexpected(listener.error().WithContext("sandbox registry"));
  reg.control_ = std::move(*listener);
  reg.record_ = std::move(record);
  return reg;
}

Registration::Registration(Registration&& o) noexcept
    : record_(std::move(o.record_)), json_path_(std::move(o.json_path_)), sock_path_(std::move(o.sock_path_)),
      control_(std::move(o.control_)) {
  o.json_path_.clear();
  o.sock_path_.clear();
}

Registration::~Registration() {
  if (!sock_path_.empty()) ::unlink(sock_path_.c_str());
  if (!json_path_.empty()) ::unlink(json_path_.c_str());
}

std::vector<RunningRecord> ListRunning(bool all_users) {
  std::vector<RunningRecord> out;
  CollectDir(RegistryDir(UserRuntimeDir(/*create=*/false)), &out);
  if (all_users && ::geteuid() == 0) {
    for (const auto& other : OtherUsersRuntimeDirs()) CollectDir(RegistryDir(other.path), &out);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.start_ticks < b.start_ticks; });
  return out;
}

Result<RunningRecord> FindRunning(const std::string& which, bool all_users) {
  for (auto& r : ListRunning(all_users)) {
    if (r.id == which || r.name == which) return r;
  }
  return MakeError(fmt::format("no running sandbox '{}'{} (`airlock ps` lists them)", which,
                               all_users ? "" : " of yours"));
}

}  // namespace airlock::cli
