#include "browser/download_judge.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "core/helper_path.h"
#include "core/json_text.h"
#include "core/report_envelope.h"
#include "core/runnable.h"
#include "core/unique_fd.h"
#include "policy/profile_loader.h"
#include "process/spawn.h"
#include "runapi/scan_request.h"

namespace airlock::browser {
namespace {


bool EndsWithSvg(std::string url) {
  url = url.substr(0, url.find_first_of("?#"));
  return url.size() >= 4 && (url.ends_with(".svg") || url.ends_with(".SVG"));
}

}  // namespace

Result<ScanAnswer> ParseScanAnswer(const std::string& json_text) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object() || !j.contains("verdict") || !j["verdict"].is_string()) return MakeError("airlock-scan gave no verdict");
  ScanAnswer a;
  a.verdict = j["verdict"].get<std::string>();
  if (a.verdict != "clean" && a.verdict != "suspicious" && a.verdict != "malicious") return MakeError("airlock-scan gave an unknown verdict");
  if (j.contains("score") && j["score"].is_number()) a.score = j["score"].get<double>();
  if (j.contains("techniques") && j["techniques"].is_array()) {
    for (const auto& t : j["techniques"]) {
      if (t.is_string() && a.techniques.size() < 64) a.techniques.push_back(t.get<std::string>());
    }
  }
  return a;
}

bool IsRunnable(const std::string& held_file) {
  UniqueFd fd(::open(held_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  char head[4] = {};
  const ssize_t n = fd ? ::read(fd.get(), head, sizeof head) : -1;
  return n > 0 && LooksRunnable(std::string_view(head, static_cast<size_t>(n)));
}

ScanAnswer Worse(const ScanAnswer& a, const ScanAnswer& b) {
  ScanAnswer w = VerdictRank(b.verdict) > VerdictRank(a.verdict) ? b : a;
  w.score = std::max(a.score, b.score);
  w.techniques = a.techniques;
  for (const auto& t : b.techniques) {
    if (std::find(w.techniques.begin(), w.techniques.end(), t) == w.techniques.end()) w.techniques.push_back(t);
  }
  return w;
}

Result<ScanAnswer> DetonateHeldFile(const std::string& held_file, const std::string& out_dir, int interrupt_fd) {
  const std::string airlock = FindHelper("airlock");
  if (airlock.empty()) return MakeError("airlock not found (AIRLOCK_LIBEXEC_DIR?)");
  std::error_code ec;
  std::filesystem::remove_all(out_dir, ec);
  process::SpawnOptions so;
  so.capture_stderr = false;
  so.kill_with_caller = true;
  so.interrupt_fd = interrupt_fd;
  so.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2 * kDetonateSeconds + 60);
  auto r = process::SpawnAndCapture({airlock, "analyze", "--json", "-q", "--timeout", fmt::format("{}s", kDetonateSeconds), "--out", out_dir,
                                     held_file},
                                    so);
  std::filesystem::remove_all(out_dir, ec);
  if (!r) return std::unexpected(r.error());
  if (r->interrupted) return MakeError("interrupted");
  if (r->timed_out || r->exit_code == 2 || r->exit_code > 3) return MakeError(fmt::format("airlock analyze exited {}", r->exit_code));
  return ParseScanAnswer(r->out);
}

void ApplyVerdict(const ScanAnswer& scan, HeldDownload& d) {
  d.verdict = scan.verdict;
  d.score = scan.score;
  d.techniques = scan.techniques;
  d.why = fmt::format("airlock scan: {} (score {})", scan.verdict, scan.score);
  if (d.scripted) {
    const std::string technique = EndsWithSvg(d.referrer) ? "T1027.017" : "T1027.006";
    if (std::find(d.techniques.begin(), d.techniques.end(), technique) == d.techniques.end()) d.techniques.push_back(technique);
    if (VerdictRank(d.verdict) < VerdictRank(kVerdictSuspicious)) {
      d.verdict = "suspicious";
      d.score = std::max(d.score, 6.0);
    }
    d.why = fmt::format("built by a page script ({} smuggling, {}); {}", technique == "T1027.017" ? "SVG" : "HTML", technique, d.why);
  }
  d.state = d.verdict == "clean" ? "clean" : d.verdict == "malicious" ? "malicious" : "held";
}

Result<ScanAnswer> ScanHeldFile(const std::string& held_file, const std::string& stage_dir, int interrupt_fd) {
  const std::string airlock = FindHelper("airlock"), scanner = FindHelper("airlock-scan");
  if (airlock.empty() || scanner.empty()) return MakeError("airlock or airlock-scan not found (AIRLOCK_LIBEXEC_DIR?)");
  std::error_code ec;
  std::filesystem::remove_all(stage_dir, ec);
  if (::mkdir(stage_dir.c_str(), 0700) != 0) return ErrnoError("mkdir " + stage_dir);
  HostIds ids{::geteuid(), ::getegid()};
  if (::geteuid() == 0) {
    auto sandbox_ids = SandboxHostIds("default");
    if (!sandbox_ids) return std::unexpected(sandbox_ids.error());
    ids = *sandbox_ids;
  }
  // A copy the scanner's sandbox ids may read (a root caller's store is root's alone).
  {
    UniqueFd in(::open(held_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) return ErrnoError("open " + held_file);
    std::filesystem::copy_file(held_file, stage_dir + "/sample", ec);
    if (ec) return MakeError("stage " + held_file + ": " + ec.message(), ec.value());
    if (::geteuid() == 0 && (::chown(stage_dir.c_str(), ids.uid, ids.gid) != 0 ||
                             ::chown((stage_dir + "/sample").c_str(), ids.uid, ids.gid) != 0)) {
      return ErrnoError("chown " + stage_dir);
    }
  }
  std::string rules = FindRulesDir("yara", AIRLOCK_BROWSER_SOURCE_RULES_DIR);
  if (!std::filesystem::is_directory(rules + "/yara")) rules.clear();
  runapi::ScanJob job{airlock, scanner, rules, {{stage_dir, "/in"}}, {"/in/sample"}, "", "120s"};
  auto argv = runapi::ScanRequest(job).Argv();
  if (!argv) return std::unexpected(argv.error());
  process::SpawnOptions so;
  so.kill_with_caller = true;
  so.interrupt_fd = interrupt_fd;
  so.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(130);
  auto r = process::SpawnAndCapture(*argv, so);
  std::filesystem::remove_all(stage_dir, ec);
  if (!r) return std::unexpected(r.error());
  if (r->interrupted) return MakeError("interrupted");
  if (r->timed_out || r->exit_code == 2 || r->exit_code > 3) {
    return MakeError(fmt::format("airlock-scan in its sandbox exited {}: {}", r->exit_code, Utf8Text(r->err.substr(0, 300))));
  }
  return ParseScanAnswer(r->out);
}

}  // namespace airlock::browser
