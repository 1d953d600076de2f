#include "cli/box_review_run.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <string>
#include <utility>

#include "box/box_triage.h"
#include "cli/commands.h"
#include "core/helper_path.h"
#include "core/json_text.h"
#include "process/spawn.h"
#include "runapi/scan_request.h"

namespace airlock::cli {
namespace {

// A helper of airlock's (core/helper_path.h), or an error saying what is not done without it.
Result<std::string> NeedHelper(const std::string& name, const std::string& what) {
  std::string path = FindHelper(name);
  if (!path.empty()) return path;
  std::string looked;
  for (const auto& c : HelperCandidates(name)) looked += (looked.empty() ? "" : ", ") + c;
  return MakeError(fmt::format("{} was not found (looked in {}): {}", name, looked, what));
}

// The first lines of a helper's stderr, for an error message.
std::string Head(const std::string& text) { return Utf8Text(text.substr(0, 400)); }

// The host ids the scanner's sandbox (default profile) runs as: the caller, or for root the profile's.
Result<std::pair<uid_t, gid_t>> ScannerIds() {
  if (::geteuid() != 0) return std::pair{::geteuid(), ::getegid()};
  auto policy = LoadValidProfile("default");
  if (!policy) return MakeError("the default profile could not be loaded");
  return std::pair{policy->identity.outside_uid_when_root, policy->identity.outside_gid_when_root};
}

// airlock-scan --json over the staged copies, in a sandbox; the review gets its findings.
Status ScanStaged(const box::StagedScan& staged, const std::string& dir, box::Review& review) {
  const std::string not_done = fmt::format("the content of {} file(s) was not scanned (--no-scan reviews without it)", staged.paths.size());
  auto airlock = NeedHelper("airlock", not_done);
  if (!airlock) return std::unexpected(airlock.error());
  auto scanner = NeedHelper("airlock-scan", not_done);
  if (!scanner) return std::unexpected(scanner.error());
  std::string rules = FindRulesDir("yara", AIRLOCK_CLI_SOURCE_RULES_DIR);
  if (struct stat st {}; ::stat((rules + "/yara").c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) rules.clear();  // built-in detectors only
  runapi::ScanJob job{*airlock, *scanner, rules, {{dir, "/scan"}}, {}, "", "600s"};
  for (size_t i = 0; i < staged.paths.size(); ++i) job.targets.push_back(fmt::format("/scan/{}", i));
  auto argv = runapi::ScanRequest(job).Argv();
  if (!argv) return MakeError(fmt::format("content scan: {}: {}", argv.error().What(), not_done));
  process::SpawnOptions o;
  o.kill_with_caller = true;
  auto r = process::SpawnAndCapture(*argv, o);
  if (!r) return std::unexpected(std::move(r.error()).WithContext("content scan"));
  const auto report = nlohmann::json::parse(r->out, nullptr, /*allow_exceptions=*/false);
  auto findings = box::ContentFindings(report, staged.paths, "/scan");
  if (!findings || r->exit_code == 2 || r->exit_code > 3) {
    return MakeError(fmt::format("content scan failed (airlock-scan in its sandbox exited {}): {}: {}", r->exit_code, Head(r->err), not_done));
  }
  box::AddFindings(review, std::move(*findings));
  return Ok();
}

// Copies of the added and changed files in a private directory of the box, then the scan.
Status ScanContent(const box::BoxInfo& b, const std::vector<box::Change>& changes, box::Review& review) {
  auto ids = ScannerIds();
  if (!ids) return std::unexpected(ids.error());
  auto dir = box::ScanDir::Make(b.dir, ids->first, ids->second);
  if (!dir) return std::unexpected(std::move(dir.error()).WithContext("content scan"));
  auto staged = box::StageForScan(box::LayersOf(b), changes, dir->path());
  if (!staged) return std::unexpected(staged.error());
  box::AddFindings(review, staged->not_staged);
  if (staged->paths.empty()) return Ok();
  return ScanStaged(*staged, dir->path(), review);
}

// airlock-rules match over each run record of the box.
Status MatchBehaviour(const box::BoxInfo& b, const std::vector<box::Change>& changes, box::Review& review) {
  auto files = box::RunEventFiles(b);
  if (!files) return std::unexpected(std::move(files.error()).WithContext("behaviour"));
  if (files->empty()) {
    review.notes.push_back("behaviour: no run of this monitored box recorded yet");
    return Ok();
  }
  const std::string not_done = fmt::format("the behaviour of {} recorded run(s) was not matched", files->size());
  auto rules = NeedHelper("airlock-rules", not_done);
  if (!rules) return std::unexpected(rules.error());
  const std::string dir = FindRulesDir("behavior", AIRLOCK_CLI_SOURCE_RULES_DIR) + "/behavior";
  for (const auto& f : *files) {
    process::SpawnOptions o;
    o.kill_with_caller = true;
    auto r = process::SpawnAndCapture({*rules, "match", "--rules", dir, f}, o);
    if (!r) return std::unexpected(std::move(r.error()).WithContext("behaviour"));
    if (r->exit_code != 0 && r->exit_code != 1) {
      return MakeError(fmt::format("behaviour rules failed on {} (airlock-rules exited {}): {}: {}", f, r->exit_code, Head(r->err), not_done));
    }
    box::AddFindings(review, box::BehaviourFindings(r->out, changes));
  }
  return Ok();
}

}  // namespace

Result<box::Review> FullReview(const box::BoxInfo& b, const std::vector<box::Change>& changes, const ReviewOptions& options) {
  auto policy = LoadValidProfile(b.profile);
  box::Review review = box::ReviewChanges(changes, policy ? policy->home : std::string());
  if (!options.scan) {
    review.notes.push_back("content not scanned (--no-scan): only the paths were judged");
  } else if (Status s = ScanContent(b, changes, review); !s) {
    return std::unexpected(s.error());
  }
  if (!b.monitor) {
    review.notes.push_back("behaviour not recorded (the box was not created with --monitor)");
  } else if (Status s = MatchBehaviour(b, changes, review); !s) {
    return std::unexpected(s.error());
  }
  return review;
}

}  // namespace airlock::cli
