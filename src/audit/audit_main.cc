// airlock-audit: grades airlock profiles, Kubernetes manifests and the host's endpoint setup (airlock
// watch) against a hardening baseline.
// Exit status: 0 when every target scores >= --min-score (default 25: a grade F fails), 1 otherwise,
// 2 on errors.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "audit/endpoint_audit.h"
#include "audit/k8s_audit.h"
#include "audit/profile_audit.h"
#include "audit/report.h"

int main(int argc, char** argv) {
  const airlock::ReportClock clock;
  CLI::App app{"Grade airlock profiles and Kubernetes manifests against a hardening baseline (docs/AUDIT.md)",
               "airlock audit"};
  bool json = false;
  int min_score = 25;  // Grade(): below 25 is F
  std::vector<std::string> targets;
  app.add_flag("--json", json, "print JSON: the report envelope and {targets: [{target, kind, score, grade, findings, passes}]} (docs/REPORT.md)");
  app.add_option("--min-score", min_score, "exit 1 when a target scores below N (0-100; default 25: a grade F fails; 0: never)")
      ->check(CLI::Range(0, 100));
  app.add_option("targets", targets, "built-in profile name, profile TOML file, Kubernetes YAML manifest, or endpoint[:STATE_DIR] (the airlock watch daemon)")
      ->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is 0; usage errors are errors (2)
  }

  std::error_code ec;
  std::string cwd = std::filesystem::current_path(ec).string();
  std::vector<airlock::audit::TargetReport> reports;
  bool failed = false;
  for (const std::string& t : targets) {
    if (airlock::audit::IsEndpointTarget(t)) {
      auto r = airlock::audit::AuditEndpoint(t);
      if (!r) {
        std::fprintf(stderr, "airlock audit: %s\n", r.error().What().c_str());
        failed = true;
        continue;
      }
      reports.push_back(std::move(*r));
    } else if (airlock::audit::LooksLikeManifest(t)) {
      auto r = airlock::audit::AuditManifestFile(t);
      if (!r) {
        std::fprintf(stderr, "airlock audit: %s\n", r.error().What().c_str());
        failed = true;
        continue;
      }
      for (auto& one : *r) reports.push_back(std::move(one));
    } else {
      auto r = airlock::audit::AuditProfile(t, cwd);
      if (!r) {
        std::fprintf(stderr, "airlock audit: %s\n", r.error().What().c_str());
        failed = true;
        continue;
      }
      reports.push_back(std::move(*r));
    }
  }
  if (json) {
    std::fputs(airlock::audit::ReportToJsonText(reports, clock).c_str(), stdout);
  } else {
    std::fputs(airlock::audit::ReportToText(reports).c_str(), stdout);
  }
  if (failed) return 2;
  for (const auto& r : reports) {
    if (r.score < min_score) return 1;
  }
  return 0;
}
