#include "sigma/rule_set.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/unique_fd.h"

namespace airlock::sigma {
namespace {

// Reads at most kMaxRuleBytes + 1 bytes so an oversized file is detected without reading it all.
Result<std::string> ReadSmallFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return ErrnoError("open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("fstat " + path);
  if (!S_ISREG(st.st_mode)) return MakeError(path + ": not a regular file");
  std::string out;
  char buf[65536];
  while (out.size() <= kMaxRuleBytes) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  if (out.size() > kMaxRuleBytes) return MakeError(path + ": rule file larger than 1 MiB");
  return out;
}

bool IsRuleFile(const std::filesystem::path& p) {
  auto ext = p.extension().string();
  return ext == ".yml" || ext == ".yaml";
}

}  // namespace

Status RuleSet::LoadDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return MakeError(dir + ": not a directory", ec ? ec.value() : ENOTDIR);
  std::vector<std::string> files;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) return MakeError("open directory " + dir, ec.value());
  for (; it != end; it.increment(ec)) {
    if (ec) return MakeError("walk " + dir, ec.value());
    std::error_code fec;
    if (it->is_regular_file(fec) && IsRuleFile(it->path())) files.push_back(it->path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) (void)LoadFile(f);
  return Ok();
}

Status RuleSet::LoadFile(const std::string& path) {
  auto text = ReadSmallFile(path);
  if (!text) {
    ++report_.files;
    report_.errors.push_back({path, "", "", text.error().What()});
    return std::unexpected(text.error());
  }
  return LoadText(*text, path);
}

Status RuleSet::LoadText(std::string_view yaml, const std::string& origin) {
  ++report_.files;
  auto parsed = ParseRules(yaml, origin);
  if (!parsed) {
    report_.errors.push_back({origin, "", "", parsed.error().What()});
    return std::unexpected(parsed.error());
  }
  for (auto& r : *parsed) Add(std::make_unique<Rule>(std::move(r)));
  return Ok();
}

void RuleSet::Add(std::unique_ptr<Rule> rule) {
  ++report_.loaded;
  if (rule->supported) {
    ++report_.supported;
    by_category_[rule->logsource.category].push_back(rule.get());
    supported_.push_back(rule.get());
  } else {
    report_.unsupported.push_back({rule->origin, rule->id, rule->title, rule->unsupported_reason});
  }
  rules_.push_back(std::move(rule));
}

std::vector<RuleMatch> RuleSet::Match(const nlohmann::json& event) const {
  std::vector<RuleMatch> out;
  if (!event.is_object()) return out;
  const std::vector<const Rule*>* candidates = &supported_;
  auto cat = event.find("category");
  if (cat != event.end() && cat->is_string()) {
    auto it = by_category_.find(cat->get_ref<const std::string&>());
    if (it == by_category_.end()) return out;
    candidates = &it->second;
  }
  for (const Rule* r : *candidates)
    if (r->Matches(event)) out.push_back({r});
  return out;
}

nlohmann::json ReportToJson(const LoadReport& r) {
  nlohmann::json j;
  j["files"] = r.files;
  j["loaded"] = r.loaded;
  j["supported"] = r.supported;
  j["unsupported_count"] = r.unsupported.size();
  j["error_count"] = r.errors.size();
  nlohmann::json by_reason = nlohmann::json::object();
  for (const auto& u : r.unsupported) by_reason[u.reason] = by_reason.value(u.reason, 0) + 1;
  j["unsupported_by_reason"] = by_reason;
  j["unsupported"] = nlohmann::json::array();
  for (const auto& u : r.unsupported)
    j["unsupported"].push_back({{"file", u.file}, {"id", u.id}, {"title", u.title}, {"reason", u.reason}});
  j["errors"] = nlohmann::json::array();
  for (const auto& e : r.errors) j["errors"].push_back({{"file", e.file}, {"error", e.reason}});
  return j;
}

nlohmann::json MatchToJson(const Rule& rule, const nlohmann::json& event) {
  return {{"rule_id", rule.id},     {"title", rule.title},           {"level", rule.level},
          {"tags", rule.tags},      {"techniques", rule.techniques}, {"file", rule.origin},
          {"event", event}};
}

}  // namespace airlock::sigma
