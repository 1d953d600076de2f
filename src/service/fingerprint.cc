#include "service/fingerprint.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "core/file_read.h"
#include "core/helper_path.h"
#include "policy/profile_loader.h"
#include "service/digest.h"

namespace airlock::service {

namespace fs = std::filesystem;

std::string ServiceRulesDir() { return FindRulesDir("yara", AIRLOCK_SERVICE_SOURCE_RULES_DIR); }

Result<std::string> RulesHash(const std::string& rules_dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(rules_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) files.push_back(fs::relative(it->path(), rules_dir, ec).string());
  }
  if (ec) return MakeError("rule directory " + rules_dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  Sha256 h;
  for (const auto& f : files) {
    auto text = ReadRegularFileBounded(rules_dir + "/" + f, 64u << 20, "rule file larger than 64 MiB");
    if (!text) return std::unexpected(std::move(text.error()).WithContext("rules hash: " + f));
    std::string head = f + '\0' + std::to_string(text->size()) + '\0';
    h.Update(head);
    h.Update(*text);
  }
  return ToHex(h.FinishRaw());
}

Result<Fingerprint> ComputeFingerprint() {
  Fingerprint f;
  f.version = AIRLOCK_VERSION;
  f.engines = AIRLOCK_ENGINE_VERSIONS;
  Sha256 h;
  for (const char* profile : {"analysis", "default"}) {
    auto p = LoadProfile(profile, "/");
    if (!p) return std::unexpected(std::move(p.error()).WithContext(std::string("policy hash: profile ") + profile));
    std::string toml = PolicyToToml(*p);
    h.Update(std::string(profile) + '\0' + toml + '\0');
  }
  f.policy_hash = ToHex(h.FinishRaw());
  auto rules = RulesHash(ServiceRulesDir());
  if (!rules) return std::unexpected(rules.error());
  f.rules_hash = *rules;
  return f;
}

}  // namespace airlock::service
