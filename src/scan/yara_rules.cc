#include "scan/yara_rules.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yara.h>

#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "core/private_dir.h"
#include "scan/file_util.h"
#include "scan/hashes.h"

namespace airlock::scan {
namespace {

struct YaraLibrary {
  YaraLibrary() { ok = yr_initialize() == ERROR_SUCCESS; }
  bool ok = false;
};
bool EnsureYara() {
  static YaraLibrary lib;  // yr_finalize at exit is not needed: the process is ending.
  return lib.ok;
}

struct CompileErrors {
  std::string current_file;
  std::string text;
};

void OnCompileMessage(int level, const char* file_name, int line, const YR_RULE* /*rule*/,
                      const char* message, void* user_data) {
  auto* errors = static_cast<CompileErrors*>(user_data);
  if (level != YARA_ERROR_LEVEL_ERROR) return;
  if (!errors->text.empty()) errors->text += "; ";
  errors->text += (file_name != nullptr ? std::string(file_name) : errors->current_file) + ":" +
                  std::to_string(line) + ": " + (message != nullptr ? message : "error");
}

struct MatchCollector {
  std::vector<Finding> findings;
};

std::vector<std::string> SplitTechniques(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',' || c == ' ' || c == ';') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string Printable(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n && i < 64; ++i) {
    char c = static_cast<char>(p[i]);
    s.push_back(c >= 0x20 && c < 0x7f ? c : '.');
  }
  return s;
}

int OnScanMessage(YR_SCAN_CONTEXT* context, int message, void* message_data, void* user_data) {
  if (message != CALLBACK_MSG_RULE_MATCHING) return CALLBACK_CONTINUE;
  auto* collector = static_cast<MatchCollector*>(user_data);
  auto* rule = static_cast<YR_RULE*>(message_data);
  Finding f;
  f.id = std::string("yara.") + rule->identifier;
  f.severity = 5;
  f.title = std::string("YARA rule ") + rule->identifier + " matched";
  const YR_META* meta = nullptr;
  yr_rule_metas_foreach(rule, meta) {
    std::string_view key = meta->identifier;
    if (key == "severity" && meta->type == META_TYPE_INTEGER) {
      f.severity = static_cast<int>(std::clamp<int64_t>(meta->integer, 0, 10));
    } else if (key == "technique" && meta->type == META_TYPE_STRING) {
      f.techniques = SplitTechniques(meta->string);
    } else if (key == "description" && meta->type == META_TYPE_STRING) {
      f.title = meta->string;
    } else if (key == "explanation" && meta->type == META_TYPE_STRING) {
      f.explanation = meta->string;
    }
  }
  // libyara allocates YR_MATCH records without natural alignment, so each one is copied into an
  // aligned local before its fields are read (its own yr_string_matches_foreach reads them in place).
  const YR_STRING* str = nullptr;
  yr_rule_strings_foreach(rule, str) {
    const void* raw = context->matches[str->idx].head;
    while (raw != nullptr) {
      YR_MATCH m;
      std::memcpy(&m, raw, sizeof m);
      if (!m.is_private) {
        f.evidence = std::string(str->identifier) + " at offset " + std::to_string(m.base + m.offset) + ": " +
                     Printable(m.data, static_cast<size_t>(m.data_length));
        break;
      }
      raw = m.next;
    }
    if (!f.evidence.empty()) break;
  }
  if (f.explanation.empty()) f.explanation = "Content matches a signature for known-bad or attack tooling.";
  collector->findings.push_back(std::move(f));
  return CALLBACK_CONTINUE;
}

std::vector<std::string> RuleFiles(const std::vector<std::string>& dirs) {
  std::vector<std::string> files;
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::vector<std::string> here;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      auto ext = e.path().extension().string();
      std::error_code ec2;
      if ((ext == ".yar" || ext == ".yara") && e.is_regular_file(ec2)) here.push_back(e.path().string());
    }
    std::sort(here.begin(), here.end());
    files.insert(files.end(), here.begin(), here.end());
  }
  return files;
}

}  // namespace

std::string DefaultCacheDir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/airlock";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.cache/airlock";
  return "";
}

Result<std::unique_ptr<YaraRules>> YaraRules::Load(const std::vector<std::string>& dirs,
                                                   const std::string& cache_dir) {
  if (!EnsureYara()) return MakeError("yr_initialize failed");
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) return MakeError("rules directory " + dir + " does not exist");
  }
  auto files = RuleFiles(dirs);
  std::vector<std::string> sources;
  std::string key_material = std::string("airlock-yara-cache-v1 ") + YR_VERSION + "\n";
  for (const auto& file : files) {
    auto text = ReadWholeFile(file, 64u << 20);
    if (!text) return std::unexpected(std::move(text.error()).WithContext("reading rules"));
    key_material += file + '\0' + std::to_string(text->size()) + '\0' + *text + '\0';
    sources.push_back(std::move(*text));
  }
  auto out = std::unique_ptr<YaraRules>(new YaraRules());
  out->file_count_ = files.size();
  std::string key = Sha256Hex(key_material);
  if (!cache_dir.empty()) out->cache_path_ = cache_dir + "/yara-" + key + ".bin";

  if (!out->cache_path_.empty() && yr_rules_load(out->cache_path_.c_str(), &out->rules_) == ERROR_SUCCESS) {
    out->from_cache_ = true;
    return out;
  }
  out->rules_ = nullptr;

  YR_COMPILER* compiler = nullptr;
  if (yr_compiler_create(&compiler) != ERROR_SUCCESS) return MakeError("yr_compiler_create failed");
  CompileErrors errors;
  yr_compiler_set_callback(compiler, OnCompileMessage, &errors);
  int error_count = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    errors.current_file = files[i];
    error_count += yr_compiler_add_string(compiler, sources[i].c_str(), nullptr);
    if (error_count > 0) break;  // the compiler can't be used after an error
  }
  if (error_count > 0) {
    yr_compiler_destroy(compiler);
    return MakeError("YARA rules do not compile: " + errors.text);
  }
  int rc = yr_compiler_get_rules(compiler, &out->rules_);
  yr_compiler_destroy(compiler);
  if (rc != ERROR_SUCCESS) return MakeError("yr_compiler_get_rules failed (" + std::to_string(rc) + ")");

  if (!out->cache_path_.empty()) {
    // Best effort: write to a unique temporary beside the target, then rename over it.
    std::error_code ec;
    (void)MakePrivateDirs(cache_dir);  // best effort, like the cache itself: yr_rules_save fails below
    std::string tmp = out->cache_path_ + ".tmp." + std::to_string(::getpid()) + "." +
                      std::to_string(reinterpret_cast<uintptr_t>(out.get()));
    if (out->Save(tmp)) {
      std::filesystem::rename(tmp, out->cache_path_, ec);
    }
    if (ec) std::filesystem::remove(tmp, ec);
  }
  return out;
}

Result<std::unique_ptr<YaraRules>> YaraRules::LoadCompiled(const std::string& path) {
  if (!EnsureYara()) return MakeError("yr_initialize failed");
  auto out = std::unique_ptr<YaraRules>(new YaraRules());
  if (int rc = yr_rules_load(path.c_str(), &out->rules_); rc != ERROR_SUCCESS) {
    out->rules_ = nullptr;
    return MakeError("compiled YARA rules " + path + " could not be loaded (" + std::to_string(rc) + ")");
  }
  out->from_cache_ = true;
  return out;
}

Status YaraRules::Save(const std::string& path) const {
  if (int rc = yr_rules_save(rules_, path.c_str()); rc != ERROR_SUCCESS) {
    return MakeError("compiled YARA rules could not be written to " + path + " (" + std::to_string(rc) + ")");
  }
  return Ok();
}

YaraRules::~YaraRules() {
  for (YR_SCANNER* scanner : pool_) yr_scanner_destroy(scanner);
  if (rules_ != nullptr) yr_rules_destroy(rules_);
}

YR_SCANNER* YaraRules::TakeScanner() const {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      YR_SCANNER* scanner = pool_.back();
      pool_.pop_back();
      return scanner;
    }
  }
  // yr_rules_scan_mem would create (and free) one of these per object: tables sized by the rule set.
  YR_SCANNER* scanner = nullptr;
  if (yr_scanner_create(rules_, &scanner) != ERROR_SUCCESS) return nullptr;
  yr_scanner_set_flags(scanner, SCAN_FLAGS_FAST_MODE);
  yr_scanner_set_timeout(scanner, /*seconds=*/10);
  return scanner;
}

void YaraRules::ReturnScanner(YR_SCANNER* scanner) const {
  std::lock_guard lock(pool_mu_);
  pool_.push_back(scanner);
}

std::vector<Finding> YaraRules::Scan(std::string_view data) const {
  MatchCollector collector;
  if (rules_ == nullptr) return {};
  YR_SCANNER* scanner = TakeScanner();
  int rc = ERROR_INSUFFICIENT_MEMORY;
  if (scanner != nullptr) {
    yr_scanner_set_callback(scanner, OnScanMessage, &collector);
    rc = yr_scanner_scan_mem(scanner, reinterpret_cast<const uint8_t*>(data.data()), data.size());
    ReturnScanner(scanner);
  }
  if (rc != ERROR_SUCCESS) {
    Finding f;
    f.id = "yara.error";
    f.severity = 0;
    f.title = rc == ERROR_SCAN_TIMEOUT ? "YARA scan timed out" : "YARA scan failed";
    f.evidence = "libyara error " + std::to_string(rc);
    collector.findings.push_back(std::move(f));
  }
  return std::move(collector.findings);
}

}  // namespace airlock::scan
