#include "scan/scanner.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "core/helper_path.h"
#include "scan/blocklist.h"
#include "scan/engine.h"
#include "scan/extract.h"
#include "scan/input_broker.h"
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

Result<std::unique_ptr<YaraRules>> LoadScanRules(const ScanOptions& options) {
  if (!options.compiled_rules.empty()) return YaraRules::LoadCompiled(options.compiled_rules);
  std::vector<std::string> dirs;
  if (options.default_rules) dirs.push_back(ProjectRulesDir() + "/yara");
  for (const auto& d : options.rule_dirs) dirs.push_back(d);
  if (dirs.empty()) return std::unique_ptr<YaraRules>();
  return YaraRules::Load(dirs, options.cache_dir == "default" ? DefaultCacheDir() : options.cache_dir);
}

std::string ScanBlocklistPath(const ScanOptions& options) {
  if (!options.blocklist.empty() || !options.compiled_rules.empty() || options.broker_fd >= 0) return options.blocklist;
  std::error_code ec;
  const std::string project = ProjectRulesDir() + "/blocklist.sha256";
  return fs::is_regular_file(project, ec) ? project : std::string();
}

namespace {

Result<std::unique_ptr<Blocklist>> LoadBlocklist(const ScanOptions& options) {
  const std::string path = ScanBlocklistPath(options);
  if (path.empty()) return std::unique_ptr<Blocklist>();
  return Blocklist::Load(path);
}

// The inputs: the expanded paths, or those the host's broker holds (options.broker_fd).
class Inputs {
 public:
  explicit Inputs(const ScanOptions& options) {
    if (options.broker_fd >= 0) client_.emplace(options.broker_fd);
    else paths_ = ExpandInputs(options.inputs);
  }
  Result<size_t> Count() { return client_ ? client_->Count() : Result<size_t>(paths_.size()); }
  InputReport Scan(Engine& engine, size_t i) {
    if (!client_) return engine.ScanFile(paths_[i]);
    auto in = client_->Open(i);
    if (!in) return FailedInput(fmt::format("input {}", i + 1), in.error().What());
    return in->fd ? engine.ScanOpened(in->name, in->fd.get()) : FailedInput(in->name, in->error);
  }

 private:
  std::vector<std::string> paths_;
  std::optional<InputClient> client_;
};

void ShowProgress(size_t done, size_t total, const std::string& name) {
  std::string line = fmt::format("\r[{}/{}] {}", done, total, name.substr(0, 60));
  line += std::string(line.size() < 80 ? 80 - line.size() : 0, ' ');
  if (::write(STDERR_FILENO, line.data(), line.size()) < 0) {
  }
}

}  // namespace

Result<ScanReport> RunScan(const ScanOptions& options) {
  const ReportClock clock;  // the report's envelope: started, duration
  auto yara = LoadScanRules(options);
  if (!yara) return std::unexpected(std::move(yara.error()));
  auto blocklist = LoadBlocklist(options);
  if (!blocklist) return std::unexpected(std::move(blocklist.error()));
  std::unique_ptr<Extractor> extractor;
  if (!options.extract_dir.empty()) {
    auto ex = Extractor::Open(options.extract_dir);
    if (!ex) return std::unexpected(std::move(ex.error()));
    extractor = std::move(*ex);
  }
  EngineOptions eo;
  eo.limits = options.limits;
  eo.yara = yara->get();
  eo.blocklist = blocklist->get();
  eo.extractor = extractor.get();

  ScanReport report;
  report.clock = clock;
  Inputs inputs(options);
  auto count = inputs.Count();
  if (!count) return std::unexpected(std::move(count.error()));
  report.inputs.resize(*count);
  std::atomic<size_t> next{0}, done{0};
  std::mutex progress_mu;
  auto worker = [&] {
    Engine engine(eo);
    for (size_t i; (i = next.fetch_add(1)) < report.inputs.size();) {
      report.inputs[i] = inputs.Scan(engine, i);
      const size_t d = done.fetch_add(1) + 1;
      if (!options.progress) continue;
      std::lock_guard lock(progress_mu);
      ShowProgress(d, report.inputs.size(), report.inputs[i].input);
    }
  };
  int jobs = std::clamp(options.jobs, 1, 16);  // libyara allows 32 concurrent scans
  jobs = static_cast<int>(std::min<size_t>(static_cast<size_t>(jobs), std::max<size_t>(report.inputs.size(), 1)));
  std::vector<std::thread> threads;
  for (int t = 1; t < jobs; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (options.progress && !report.inputs.empty()) {
    if (::write(STDERR_FILENO, "\n", 1) < 0) {
    }
  }
  AssessScan(report);
  report.duration_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - clock.steady).count());
  return report;
}

}  // namespace airlock::scan
