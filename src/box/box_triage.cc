#include "box/box_triage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <tuple>

#include "box/box_fs.h"
#include "core/report_envelope.h"
#include "core/unique_fd.h"
#include "kernel/syscalls.h"

namespace airlock::box {
namespace {

ReviewFinding NotScanned(const std::string& path, const char* severity, const std::string& why) {
  return {"BOX-NOT-SCANNED", severity, {}, "content not scanned: " + why, path};
}

// Opens the box's version of `c` beneath its upper layer: a regular file, no symlink on the way.
Result<UniqueFd> OpenUpperFile(const LayerTree& tree, const Change& c) {
  UniqueFd root(::open(tree.upper.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return ErrnoError("open " + tree.upper);
  UniqueFd fd(kernel::Openat2(root.get(), c.relative.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0, kBeneath));
  if (!fd) return ErrnoError("open");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat");
  if (!S_ISREG(st.st_mode)) return MakeError("no longer a regular file");
  return fd;
}

std::string Severity(int scanner_severity) { return scanner_severity >= 7 ? "high" : scanner_severity >= 4 ? "medium" : "low"; }

int Rank(const std::string& severity_or_verdict) {
  if (severity_or_verdict == "high" || severity_or_verdict == "malicious") return 2;
  if (severity_or_verdict == "medium" || severity_or_verdict == "suspicious") return 1;
  return 0;
}

std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> Strings(const nlohmann::json& j, const char* key, bool upper = false) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (!v.is_string()) continue;
    std::string s = v.get<std::string>();
    if (upper) std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    out.push_back(std::move(s));
  }
  return out;
}

// The findings of `object` and its children (depth-bounded), for the inside `path`; the worst rank.
int AddObjectFindings(const nlohmann::json& object, const std::string& path, const std::string& member, int depth,
                      std::vector<ReviewFinding>& out) {
  int worst = 0;
  if (auto it = object.find("findings"); it != object.end() && it->is_array()) {
    for (const auto& f : *it) {
      const int sev = f.contains("severity") && f["severity"].is_number() ? f["severity"].get<int>() : 0;
      std::string evidence = Str(f, "title");
      if (std::string e = Str(f, "evidence"); !e.empty()) evidence += ": " + e.substr(0, 200);
      if (!member.empty()) evidence = "in " + member + ": " + evidence;
      out.push_back({f.contains("rule") ? Str(f, "rule") : Str(f, "id"), Severity(sev), Strings(f, "techniques"), evidence, path});
      worst = std::max(worst, Rank(out.back().severity));
    }
  }
  if (auto it = object.find("children"); depth < 32 && it != object.end() && it->is_array()) {
    for (const auto& child : *it) {
      if (child.is_object()) worst = std::max(worst, AddObjectFindings(child, path, Str(child, "path"), depth + 1, out));
    }
  }
  return worst;
}

}  // namespace

Result<ScanDir> ScanDir::Make(const std::string& parent, uid_t uid, gid_t gid) {
  std::string path = parent + "/scan-XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) return ErrnoError("create a scan directory in " + parent);
  ScanDir dir(path);
  if ((uid != ::geteuid() || gid != ::getegid()) && ::lchown(path.c_str(), uid, gid) != 0) return ErrnoError("chown " + path);
  return dir;
}

ScanDir::~ScanDir() {
  if (path_.empty()) return;
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd) (void)RemoveContents(fd.get(), path_);
  ::rmdir(path_.c_str());
}

Result<StagedScan> StageForScan(const std::vector<LayerTree>& trees, const std::vector<Change>& changes, const std::string& dir,
                                const ScanLimits& limits) {
  UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dirfd) return ErrnoError("open " + dir);
  StagedScan out;
  uint64_t total = 0;
  for (const Change& c : changes) {
    if (c.type != "file" || c.kind == Change::Kind::kDeleted || c.tree >= trees.size()) continue;
    if (c.size > limits.max_file_bytes) {
      out.not_staged.push_back(NotScanned(c.path, "low", fmt::format("{} bytes, over the {} MiB limit", c.size, limits.max_file_bytes >> 20)));
      continue;
    }
    if (out.paths.size() >= limits.max_files || total + c.size > limits.max_total_bytes) {
      out.not_staged.push_back(NotScanned(c.path, "low", fmt::format("over the review's budget ({} files, {} MiB)", limits.max_files,
                                                                      limits.max_total_bytes >> 20)));
      continue;
    }
    auto fd = OpenUpperFile(trees[c.tree], c);
    if (!fd) {
      out.not_staged.push_back(NotScanned(c.path, "medium", "unreadable: " + fd.error().What()));
      continue;
    }
    const std::string name = std::to_string(out.paths.size());
    UniqueFd copy(::openat(dirfd.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444));
    if (!copy) return ErrnoError(fmt::format("stage for the scan: create {}/{}", dir, name));
    bool read_failed = false;
    if (const int e = CopyData(fd->get(), copy.get(), c.size, &read_failed); e != 0 && !read_failed) {
      return std::unexpected(Error(fmt::format("stage for the scan: write {}/{}", dir, name), e));
    } else if (e != 0) {
      out.not_staged.push_back(NotScanned(c.path, "medium", fmt::format("unreadable: {}", std::strerror(e))));
      ::unlinkat(dirfd.get(), name.c_str(), 0);
      continue;
    }
    total += c.size;
    out.paths.push_back(c.path);
  }
  return out;
}

Result<std::vector<ReviewFinding>> ContentFindings(const nlohmann::json& report, const std::vector<std::string>& paths,
                                                   const std::string& prefix) {
  if (!report.is_object() || !report.contains("objects") || !report["objects"].is_array()) {
    return MakeError("not an airlock-scan report (no \"objects\" array)");
  }
  auto index = [&](const std::string& input) -> size_t {
    if (input.size() <= prefix.size() + 1 || input.compare(0, prefix.size() + 1, prefix + "/") != 0) return paths.size();
    const std::string n = input.substr(prefix.size() + 1);
    if (n.empty() || !std::all_of(n.begin(), n.end(), [](unsigned char c) { return std::isdigit(c); }) || n.size() > 9) return paths.size();
    return static_cast<size_t>(std::stoul(n));
  };
  std::vector<ReviewFinding> out;
  std::vector<bool> seen(paths.size(), false);
  for (const auto& o : report["objects"]) {
    const size_t i = o.is_object() ? index(Str(o, "input")) : paths.size();
    if (i >= paths.size() || seen[i]) continue;
    seen[i] = true;
    const int worst = AddObjectFindings(o, paths[i], "", 0, out);
    const std::string verdict = ReportVerdict(o);  // fail closed: no known verdict is "error"
    if (verdict == kVerdictError) {
      out.push_back(NotScanned(paths[i], "medium", "airlock-scan gave no verdict for it"));
    } else if (Rank(verdict) > worst) {
      const int score = o.contains("score") && o["score"].is_number() ? o["score"].get<int>() : 0;
      out.push_back({"BOX-SCAN-SCORE", Rank(verdict) == 2 ? "high" : "medium", Strings(o, "techniques"),
                     fmt::format("airlock-scan: {} (score {}/10: its findings add up)", verdict, score), paths[i]});
    }
  }
  std::string errors;
  if (auto it = report.find("errors"); it != report.end() && it->is_array()) {
    for (const auto& e : *it) {
      const size_t i = e.is_object() ? index(Str(e, "input")) : paths.size();
      if (i < paths.size() && !seen[i]) out.push_back(NotScanned(paths[i], "medium", "airlock-scan: " + Str(e, "error")));
      if (i < paths.size()) seen[i] = true;
    }
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!seen[i]) out.push_back(NotScanned(paths[i], "medium", "missing from airlock-scan's report"));
  }
  return out;
}

std::vector<ReviewFinding> BehaviourFindings(std::string_view match_lines, const std::vector<Change>& changes) {
  std::set<std::string> changed;
  for (const Change& c : changes) changed.insert(c.path);
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  std::vector<ReviewFinding> out;
  while (!match_lines.empty()) {
    const size_t nl = match_lines.find('\n');
    const std::string_view line = match_lines.substr(0, nl);
    match_lines.remove_prefix(nl == std::string_view::npos ? match_lines.size() : nl + 1);
    const auto m = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!m.is_object() || !m.contains("event") || !m["event"].is_object()) continue;
    const nlohmann::json& e = m["event"];
    std::string object;
    for (const char* key : {"TargetFilename", "SourceFilename", "Image"}) {
      if (changed.count(Str(e, key)) != 0) {
        object = Str(e, key);
        break;
      }
    }
    std::string evidence;
    for (const char* key : {"CommandLine", "TargetFilename", "Image"}) {
      if (evidence.empty()) evidence = Str(e, key).substr(0, 300);
    }
    const std::string level = Str(m, "level");
    const std::string title = Str(m, "title");
    if (!seen.insert({title, object, evidence}).second) continue;
    out.push_back({title, level == "critical" || level == "high" ? "high" : level == "medium" ? "medium" : "low",
                   Strings(m, "techniques", /*upper=*/true), fmt::format("{} ({})", evidence, Str(e, "category")), object});
  }
  return out;
}

}  // namespace airlock::box
