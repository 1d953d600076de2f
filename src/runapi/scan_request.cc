#include "runapi/scan_request.h"

namespace airlock::runapi {
namespace {

// "/a/b/airlock-scan" -> {"/a/b", "airlock-scan"}; a bare name lives in ".".
std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

RunRequest ScanRequest(const ScanJob& job) {
  const auto [scan_dir, scan_name] = SplitPath(job.scanner);
  RunRequest req(job.airlock);
  req.Profile("default");
  if (!job.extract_dir.empty()) req.Bind(job.extract_dir, "/out");
  if (!job.rules.empty()) req.RoBind(job.rules, "/rules").SetEnv("AIRLOCK_RULES_DIR=/rules");
  req.RoBind(scan_dir, "/opt/airlock-scan");
  for (const auto& [host, inside] : job.inputs) req.RoBind(host, inside);
  req.SetEnv("XDG_CACHE_HOME=/tmp").Memory("2g").Timeout(job.timeout).KillOnInterrupt();
  std::vector<std::string> command = {"/opt/airlock-scan/" + scan_name, "--in-sandbox", "--json"};
  if (!job.extract_dir.empty()) command.insert(command.end(), {"--extract", "/out"});
  command.insert(command.end(), job.targets.begin(), job.targets.end());
  return req.Command(std::move(command));
}

}  // namespace airlock::runapi
