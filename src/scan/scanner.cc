#include "scan/scanner.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "core/helper_path.h"
#include "scan/blocklist.h"
#include "scan/engine.h"
#include "scan/extract.h"
#include "scan/yara_rules.h"

namespace airlock::scan {
namespace fs = std::filesystem;

namespace {

void Walk(const fs::path& dir, std::vector<std::string>& out) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(dir, fs::directory_options::skip_permission_denied, ec)) {
    entries.push_back(e.path());
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& p : entries) {
    auto st = fs::symlink_status(p, ec);
    if (ec || fs::is_symlink(st)) continue;
    if (fs::is_directory(st)) {
      Walk(p, out);
    } else if (fs::is_regular_file(st)) {
      out.push_back(p.string());
    }
  }
}

}  // namespace

std::vector<std::string> ExpandInputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> out;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (in != "-" && fs::is_directory(fs::symlink_status(in, ec))) {
      Walk(in, out);
    } else {
      out.push_back(in);
    }
  }
  return out;
}

std::string ProjectRulesDir() { return FindRulesDir("yara", AIRLOCK_SCAN_SOURCE_RULES_DIR); }

Result<ScanReport> RunScan(const ScanOptions& options) {
  const ReportClock clock;  // the report's envelope: started, duration
  auto start = clock.steady;
  std::vector<std::string> dirs;
  std::string rules_dir = ProjectRulesDir();
  if (options.default_rules) dirs.push_back(rules_dir + "/yara");
  for (const auto& d : options.rule_dirs) dirs.push_back(d);
  std::unique_ptr<YaraRules> yara;
  if (!dirs.empty()) {
    std::string cache = options.cache_dir == "default" ? DefaultCacheDir() : options.cache_dir;
    auto loaded = YaraRules::Load(dirs, cache);
    if (!loaded) return std::unexpected(std::move(loaded.error()));
    yara = std::move(*loaded);
  }
  std::unique_ptr<Blocklist> blocklist;
  std::string bl_path = options.blocklist;
  if (bl_path.empty()) {
    std::error_code ec;
    if (fs::is_regular_file(rules_dir + "/blocklist.sha256", ec)) bl_path = rules_dir + "/blocklist.sha256";
  }
  if (!bl_path.empty()) {
    auto bl = Blocklist::Load(bl_path);
    if (!bl) return std::unexpected(std::move(bl.error()));
    blocklist = std::move(*bl);
  }
  std::unique_ptr<Extractor> extractor;
  if (!options.extract_dir.empty()) {
    auto ex = Extractor::Open(options.extract_dir);
    if (!ex) return std::unexpected(std::move(ex.error()));
    extractor = std::move(*ex);
  }

  EngineOptions eo;
  eo.limits = options.limits;
  eo.yara = yara.get();
  eo.blocklist = blocklist.get();
  eo.extractor = extractor.get();

  ScanReport report;
  report.clock = clock;
  auto inputs = ExpandInputs(options.inputs);
  report.inputs.resize(inputs.size());
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::mutex progress_mu;
  auto worker = [&] {
    Engine engine(eo);
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= inputs.size()) return;
      report.inputs[i] = engine.ScanFile(inputs[i]);
      size_t d = done.fetch_add(1) + 1;
      if (options.progress) {
        std::lock_guard lock(progress_mu);
        std::string line = fmt::format("\r[{}/{}] {}", d, inputs.size(), inputs[i].substr(0, 60));
        line += std::string(line.size() < 80 ? 80 - line.size() : 0, ' ');
        if (::write(STDERR_FILENO, line.data(), line.size()) < 0) {
        }
      }
    }
  };
  int jobs = std::clamp(options.jobs, 1, 16);  // libyara allows 32 concurrent scans
  jobs = static_cast<int>(std::min<size_t>(static_cast<size_t>(jobs), std::max<size_t>(inputs.size(), 1)));
  std::vector<std::thread> threads;
  for (int t = 1; t < jobs; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (options.progress && !inputs.empty()) {
    if (::write(STDERR_FILENO, "\n", 1) < 0) {
    }
  }
  AssessScan(report);
  report.duration_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::steady_clock::now() - start)
                                                 .count());
  return report;
}

}  // namespace airlock::scan
