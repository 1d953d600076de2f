// Boxes out of and into archives: the front end's side (box_transfer.h has the contract).
#include "box/box_transfer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "box/box_archive.h"
#include "box/box_fs.h"
#include "box/box_staging.h"
#include "core/helper_path.h"
#include "core/json_text.h"
#include "policy/profile_loader.h"
#include "process/spawn.h"
#include "runapi/run_request.h"

namespace airlock::box {
namespace {

constexpr const char* kHelper = "airlock-boxtar";

Result<std::string> Helper(const std::string& name) {
  std::string path = FindHelper(name);
  if (path.empty()) return MakeError(fmt::format("{} is not installed (looked beside airlock and in its libexec directory)", name));
  return path;
}

// The helper's one JSON line, or its error (the lines it wrote to stderr).
Result<nlohmann::json> RunHelper(const std::vector<std::string>& argv, int stdin_fd) {
  process::SpawnOptions o;
  o.stdin_fd = stdin_fd;
  o.kill_with_caller = true;
  o.stderr_cap = 64 * 1024;
  auto r = process::SpawnAndCapture(argv, o);
  if (!r) return std::unexpected(r.error());
  std::string err = r->err;
  if (size_t at = err.find("airlock-boxtar: "); at != std::string::npos) err = err.substr(at + 16);
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  if (r->exit_code != 0) return MakeError(err.empty() ? fmt::format("{} failed (exit {})", kHelper, r->exit_code) : err);
  auto j = nlohmann::json::parse(r->out, nullptr, false);
  if (!j.is_object()) return MakeError(fmt::format("{} gave no summary: {}", kHelper, Utf8Text(r->out.substr(0, 200))));
  return j;
}

// The helper's summary line (it ran in a sandbox that parsed a hostile archive): anything not of the
// expected type reads as zero or is skipped, never thrown.
TransferSummary SummaryOf(const nlohmann::json& j) {
  auto count = [&j](const char* key) -> uint64_t {
    auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
  };
  TransferSummary s;
  s.entries = count("entries");
  s.bytes = count("bytes");
  s.setid_dropped = count("setid_dropped");
  if (auto it = j.find("seconds"); it != j.end() && it->is_number()) s.seconds = it->get<double>();
  if (auto it = j.find("sockets_skipped"); it != j.end() && it->is_array()) {
    for (const auto& p : *it) {
      if (p.is_string()) s.sockets_skipped.push_back(p.get<std::string>());
    }
  }
  return s;
}

// The archive read by the helper inside `airlock run` into `dir` (made here, owned by the sandbox's
// host ids), then verified and owned by the caller again.
Result<std::pair<StagedArchive, TransferSummary>> Unpack(int archive_fd, const std::string& dir) {
  auto ids = SandboxHostIds("default");
  if (!ids) return std::unexpected(ids.error());
  if (::lchown(dir.c_str(), ids->uid, ids->gid) != 0) return ErrnoError("chown " + dir);
  auto airlock = Helper("airlock");
  auto boxtar = airlock ? Helper(kHelper) : airlock;
  if (!boxtar) return std::unexpected(boxtar.error());
  const std::string helper_dir = boxtar->substr(0, boxtar->rfind('/'));
  auto argv = runapi::RunRequest(*airlock).Profile("default").Bind(dir, "/out").RoBind(helper_dir, "/opt/airlock-boxtar")
                  .Memory("1g").Timeout("3600s").KillOnInterrupt().Command({"/opt/airlock-boxtar/" + std::string(kHelper), "import", "/out"})
                  .Argv();
  if (!argv) return std::unexpected(argv.error());
  const auto start = std::chrono::steady_clock::now();
  auto j = RunHelper(*argv, archive_fd);
  if (!j) return std::unexpected(j.error());
  auto staged = VerifyStaging(dir, ::geteuid(), ::getegid());
  if (!staged) return std::unexpected(std::move(staged.error()).WithContext("the imported archive"));
  TransferSummary s = SummaryOf(*j);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  s.setid_dropped += staged->setid_dropped;
  return std::make_pair(std::move(*staged), s);
}

// dir/layers becomes one layer per box tree (archived layers moved by inside path, the others
// empty), each with its work/; the baseline stays only on the same host trees.
Result<bool> ArrangeLayers(const std::string& dir, const ArchiveManifest& m, const std::vector<BoxTree>& trees) {
  auto map = MatchLayers(m.trees, trees);
  if (!map) return std::unexpected(map.error());
  const std::string archived = dir + "/archived";
  if (::rename((dir + "/layers").c_str(), archived.c_str()) != 0 || ::mkdir((dir + "/layers").c_str(), 0700) != 0) return ErrnoError("arrange " + dir);
  for (size_t j = 0; j < trees.size(); ++j) {
    const std::string layer = fmt::format("{}/layers/{}", dir, j);
    if (::mkdir(layer.c_str(), 0700) != 0 || ::mkdir((layer + "/work").c_str(), 0700) != 0) return ErrnoError("create " + layer);
    const int from = (*map)[j];
    const bool ok = from >= 0 ? ::rename(fmt::format("{}/{}/upper", archived, from).c_str(), (layer + "/upper").c_str()) == 0
                              : ::mkdir((layer + "/upper").c_str(), 0700) == 0;
    if (!ok) return ErrnoError("create " + layer + "/upper");
  }
  if (Status s = RemoveTree(archived); !s) return std::unexpected(s.error());
  ::unlink((dir + "/" + kManifestMember).c_str());
  const bool same = SameHostTrees(m.trees, trees);
  const bool had_baseline = ::access((dir + "/" + kBaselineMember).c_str(), F_OK) == 0;
  if (!same) ::unlink((dir + "/" + kBaselineMember).c_str());
  return !same && had_baseline;
}

Result<TransferSummary> ImportInto(const std::string& store, const std::string& name, int archive_fd, const ImportOptions& o,
                                   const std::string& dir) {
  auto unpacked = Unpack(archive_fd, dir);
  if (!unpacked) return std::unexpected(unpacked.error());
  auto dropped = ArrangeLayers(dir, unpacked->first.manifest, o.trees);
  if (!dropped) return std::unexpected(dropped.error());
  auto box = PlaceStagedBox(store, name, o.profile, o.trees, dir, o.settings);
  if (!box) return std::unexpected(box.error());
  unpacked->second.baseline_dropped = *dropped;
  return unpacked->second;
}

}  // namespace

Result<TransferSummary> ExportBox(const BoxInfo& box, const std::string& out_path) {
  auto boxtar = Helper(kHelper);
  if (!boxtar) return std::unexpected(boxtar.error());
  const std::string store = box.dir.substr(0, box.dir.rfind('/'));
  auto j = RunHelper({*boxtar, "export", store, box.name, out_path}, -1);
  if (!j) return std::unexpected(j.error());
  return SummaryOf(*j);
}

Result<TransferSummary> ImportBox(const std::string& store, const std::string& name, int archive_fd, const ImportOptions& o) {
  if (Status s = CheckBoxName(name); !s) return std::unexpected(s.error());
  if (::access((store + "/" + name).c_str(), F_OK) == 0) {
    return MakeError(fmt::format("box {} exists already ({}/{}); `airlock box rm {}` removes it", name, store, name, name));
  }
  auto dir = MakeStagingDir(store, "import-" + name);
  if (!dir) return std::unexpected(dir.error());
  auto r = ImportInto(store, name, archive_fd, o, *dir);
  if (!r) (void)RemoveTree(*dir);
  return r;
}

std::string SnapshotPath(const BoxInfo& box, const std::string& snap) { return box.dir + "/snapshots/" + snap + ".tar"; }

Result<UniqueFd> OpenSnapshot(const BoxInfo& box, const std::string& snap) {
  if (Status s = CheckBoxName(snap); !s) return std::unexpected(Error(fmt::format("'{}' is not a snapshot name (the rule of box names)", Utf8Text(snap))));
  UniqueFd fd(::open(SnapshotPath(box, snap).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd && errno == ENOENT) return MakeError(fmt::format("box {} has no snapshot {} (`airlock box snapshots {}` lists them)", box.name, snap, box.name));
  if (!fd) return ErrnoError("open " + SnapshotPath(box, snap));
  return fd;
}

Result<TransferSummary> SnapshotBox(const BoxInfo& box, const std::string& snap) {
  if (Status s = CheckBoxName(snap); !s) return std::unexpected(Error(fmt::format("'{}' is not a snapshot name: 1-64 of A-Z a-z 0-9 . _ -, not starting with . or -", Utf8Text(snap))));
  auto existing = ListSnapshots(box);
  if (!existing) return std::unexpected(existing.error());
  for (const auto& s : *existing) {
    if (s.name == snap) return MakeError(fmt::format("box {} has a snapshot {} already (`airlock box snapshot-rm {} {}` removes it)", box.name, snap, box.name, snap));
  }
  if (existing->size() >= kMaxSnapshots) {
    return MakeError(fmt::format("box {} holds {} snapshots, the most it keeps: `airlock box snapshot-rm {} SNAP` removes one", box.name, kMaxSnapshots, box.name));
  }
  if (::mkdir((box.dir + "/snapshots").c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("create " + box.dir + "/snapshots");
  return ExportBox(box, SnapshotPath(box, snap));
}

Result<TransferSummary> RestoreBox(const BoxInfo& box, const std::string& snap) {
  auto fd = OpenSnapshot(box, snap);
  if (!fd) return std::unexpected(fd.error());
  if (Status s = CleanLeftovers(box); !s) return std::unexpected(s.error());
  const std::string dir = box.dir + "/restore.tmp";
  if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoError("create " + dir);
  auto unpacked = Unpack(fd->get(), dir);
  auto arranged = unpacked ? ArrangeLayers(dir, unpacked->first.manifest, box.trees) : Result<bool>(std::unexpected(unpacked.error()));
  if (!arranged) {
    (void)RemoveTree(dir);
    return std::unexpected(arranged.error());
  }
  if (::renameat2(AT_FDCWD, (dir + "/layers").c_str(), AT_FDCWD, (box.dir + "/layers").c_str(), RENAME_EXCHANGE) != 0) {
    Status s = ErrnoError("swap in the restored layers of box " + box.name);
    (void)RemoveTree(dir);
    return std::unexpected(s.error());
  }
  const std::string baseline = dir + "/" + kBaselineMember;
  if (::rename(baseline.c_str(), (box.dir + "/" + kBaselineMember).c_str()) != 0 && errno == ENOENT) {
    ::unlink((box.dir + "/" + kBaselineMember).c_str());
  }
  if (Status s = RemoveTree(dir); !s) return std::unexpected(s.error());
  return unpacked->second;
}

Status RemoveSnapshot(const BoxInfo& box, const std::string& snap) {
  auto fd = OpenSnapshot(box, snap);
  if (!fd) return std::unexpected(fd.error());
  if (::unlink(SnapshotPath(box, snap).c_str()) != 0) return ErrnoError("remove " + SnapshotPath(box, snap));
  return Ok();
}

Result<std::vector<SnapshotInfo>> ListSnapshots(const BoxInfo& box) {
  std::vector<SnapshotInfo> out;
  UniqueFd dir(::open((box.dir + "/snapshots").c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return errno == ENOENT ? Result<std::vector<SnapshotInfo>>(out) : ErrnoError("open " + box.dir + "/snapshots");
  std::vector<char> dents;
  auto names = ReadDirNames(dir.get(), box.dir + "/snapshots", dents);
  if (!names) return std::unexpected(names.error());
  for (const auto& n : *names) {
    struct stat st {};
    if (!n.ends_with(".tar") || !CheckBoxName(n.substr(0, n.size() - 4)) || ::fstatat(dir.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode)) {
      continue;
    }
    char created[32];
    struct tm tm {};
    ::gmtime_r(&st.st_mtim.tv_sec, &tm);
    std::strftime(created, sizeof created, "%Y-%m-%d %H:%M:%S", &tm);
    out.push_back({n.substr(0, n.size() - 4), created, static_cast<uint64_t>(st.st_size)});
  }
  return out;
}

Status CleanLeftovers(const BoxInfo& box) {
  const std::string restore = box.dir + "/restore.tmp";
  if (::access(restore.c_str(), F_OK) == 0) {
    if (Status s = RemoveTree(restore); !s) return s;
  }
  UniqueFd dir(::open((box.dir + "/snapshots").c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) return Ok();
  std::vector<char> dents;
  auto names = ReadDirNames(dir.get(), box.dir + "/snapshots", dents);
  if (!names) return std::unexpected(names.error());
  for (const auto& n : *names) {
    if (n.ends_with(".tar.part") && ::unlinkat(dir.get(), n.c_str(), 0) != 0) return ErrnoError("remove " + box.dir + "/snapshots/" + n);
  }
  return Ok();
}

}  // namespace airlock::box
