#include "box/box_archive.h"

#include <fmt/format.h>

#include <charconv>

#include "core/json_text.h"

namespace airlock::box {
namespace {

constexpr int kSchema = 1;
constexpr const char* kKind = "airlock-box-export";

Error BadMember(std::string_view name, const char* why) {
  return Error(fmt::format("archive member '{}': {}", Utf8Text(name), why));
}

// "a/b/c" with every component non-empty, not "." or "..", at most kMaxDepth of them.
bool ValidRelative(std::string_view rel) {
  int depth = 0;
  size_t start = 0;
  while (start <= rel.size()) {
    const size_t end = std::min(rel.find('/', start), rel.size());
    const std::string_view c = rel.substr(start, end - start);
    if (c.empty() || c == "." || c == ".." || ++depth > kMaxDepth) return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

Result<Member> ParseMemberName(std::string_view name, size_t tree_count) {
  if (name.find('\0') != std::string_view::npos) return std::unexpected(BadMember(name, "a NUL byte in the name"));
  if (name == kManifestMember) return Member{Member::Kind::kManifest, 0, ""};
  if (name == kBaselineMember) return Member{Member::Kind::kBaseline, 0, ""};
  std::string_view rest = name;
  if (rest.ends_with('/')) rest.remove_suffix(1);
  constexpr std::string_view kLayers = "layers/";
  if (!rest.starts_with(kLayers)) return std::unexpected(BadMember(name, "not a member of a box export (airlock-box.json, baseline.json, layers/<i>/upper/...)"));
  rest.remove_prefix(kLayers.size());
  size_t layer = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
  const size_t digits = static_cast<size_t>(end - rest.data());
  if (ec != std::errc() || digits == 0 || (digits > 1 && rest[0] == '0')) return std::unexpected(BadMember(name, "the layer is not a number"));
  if (layer >= tree_count) {
    return std::unexpected(BadMember(name, fmt::format("layer {} does not exist: the archive's manifest lists {} tree(s)", layer, tree_count).c_str()));
  }
  rest.remove_prefix(digits);
  if (rest == "/upper") return Member{Member::Kind::kLayerEntry, layer, ""};
  constexpr std::string_view kUpper = "/upper/";
  if (!rest.starts_with(kUpper)) return std::unexpected(BadMember(name, "not beneath layers/<i>/upper/"));
  rest.remove_prefix(kUpper.size());
  if (!ValidRelative(rest)) {
    return std::unexpected(BadMember(name, fmt::format("an empty, '.' or '..' component, or deeper than {} levels", kMaxDepth).c_str()));
  }
  return Member{Member::Kind::kLayerEntry, layer, std::string(rest)};
}

std::string LayerMemberName(size_t layer, const std::string& rel) {
  return rel.empty() ? fmt::format("layers/{}/upper", layer) : fmt::format("layers/{}/upper/{}", layer, rel);
}

bool XattrAllowed(std::string_view name) {
  if (!name.starts_with("user.") || name.starts_with("user.airlock.")) return false;
  if (!name.starts_with("user.overlay.")) return true;
  return name == "user.overlay.opaque" || name == "user.overlay.whiteout" || name == "user.overlay.whiteouts";
}

nlohmann::json ManifestToJson(const ArchiveManifest& m) {
  nlohmann::json trees = nlohmann::json::array();
  for (const auto& t : m.trees) trees.push_back({{"host", t.host}, {"inside", t.inside}});
  return {{"schema", kSchema}, {"kind", kKind}, {"source", m.source}, {"profile", m.profile}, {"created", m.created}, {"trees", trees}};
}

Result<ArchiveManifest> ParseManifest(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("kind") || j["kind"] != kKind || !j.contains("schema") || !j["schema"].is_number_integer()) {
    return MakeError("airlock-box.json is not the manifest of an airlock box export");
  }
  if (j["schema"].get<int>() != kSchema) return MakeError(fmt::format("the export has schema {}; this airlock reads schema {}", j["schema"].get<int>(), kSchema));
  if (!j.contains("trees") || !j["trees"].is_array() || j["trees"].empty() || j["trees"].size() > kMaxTrees) {
    return MakeError(fmt::format("airlock-box.json: 'trees' must list 1 to {} trees", kMaxTrees));
  }
  ArchiveManifest m;
  m.profile = j["profile"].is_string() ? j["profile"].get<std::string>() : "";
  m.created = j["created"].is_string() ? j["created"].get<std::string>() : "";
  m.source = j["source"].is_string() ? j["source"].get<std::string>() : "";
  for (const auto& t : j["trees"]) {
    if (!t.is_object() || !t.contains("host") || !t["host"].is_string() || !t.contains("inside") || !t["inside"].is_string() ||
        !t["inside"].get<std::string>().starts_with('/')) {
      return MakeError("airlock-box.json: a tree is not {\"host\": PATH, \"inside\": /PATH}");
    }
    m.trees.push_back({t["host"].get<std::string>(), t["inside"].get<std::string>()});
  }
  return m;
}

Result<std::vector<int>> MatchLayers(const std::vector<BoxTree>& archived, const std::vector<BoxTree>& box_trees) {
  std::vector<int> map(box_trees.size(), -1);
  for (size_t a = 0; a < archived.size(); ++a) {
    bool found = false;
    for (size_t b = 0; b < box_trees.size(); ++b) {
      if (box_trees[b].inside != archived[a].inside) continue;
      if (map[b] >= 0) return MakeError(fmt::format("the archive holds tree {} twice", Utf8Text(archived[a].inside)));
      map[b] = static_cast<int>(a);
      found = true;
    }
    if (!found) {
      return MakeError(fmt::format("the archive holds changes to {} (host {} where it was exported), which this box does not overlay: "
                                   "give --over PATH:{} (PATH: the host directory to put there)",
                                   Utf8Text(archived[a].inside), Utf8Text(archived[a].host), Utf8Text(archived[a].inside)));
    }
  }
  return map;
}

bool SameHostTrees(const std::vector<BoxTree>& archived, const std::vector<BoxTree>& box_trees) {
  for (const auto& a : archived) {
    bool same = false;
    for (const auto& b : box_trees) same = same || (b.inside == a.inside && b.host == a.host);
    if (!same) return false;
  }
  return true;
}

}  // namespace airlock::box
