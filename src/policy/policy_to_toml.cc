// PolicyToToml: the effective policy as a self-contained profile (no includes), generated from the
// field description in policy_fields.h: each field is written by the writer for its type at its TOML
// path. Mounts are written as an ordered [[mount]] array so that loading the output reproduces the
// exact mount order.
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <toml++/toml.h>

#include "policy/policy_fields.h"
#include "policy/profile_loader.h"

namespace airlock {
namespace {

// TOML integers are signed 64-bit; larger values are written as decimal strings (sizes accept both).
void InsertU64(toml::table& t, const char* key, uint64_t v) {
  if (v <= static_cast<uint64_t>(INT64_MAX)) {
    t.insert_or_assign(key, static_cast<int64_t>(v));
  } else {
    t.insert_or_assign(key, std::to_string(v));
  }
}

toml::array Strings(const std::vector<std::string>& v) {
  toml::array a;
  for (const std::string& s : v) a.push_back(s);
  return a;
}

// One writer per member type; policy_fields.h says which key each field goes to. Optional values are
// left out when unset (the loader then keeps its default; limits excepted, below), lists and tables
// are always written.
void Put(toml::table& t, const std::string& key, bool v) { t.insert_or_assign(key, v); }
void Put(toml::table& t, const std::string& key, int v) { t.insert_or_assign(key, static_cast<int64_t>(v)); }
void Put(toml::table& t, const std::string& key, unsigned v) { t.insert_or_assign(key, static_cast<int64_t>(v)); }
void Put(toml::table& t, const std::string& key, const std::string& v) { t.insert_or_assign(key, v); }
void Put(toml::table& t, const std::string& key, const std::vector<std::string>& v) { t.insert_or_assign(key, Strings(v)); }
void Put(toml::table& t, const std::string& key, Requirement v) { t.insert_or_assign(key, RequirementName(v)); }
void Put(toml::table& t, const std::string& key, NetMode v) { t.insert_or_assign(key, NetModeName(v)); }
void Put(toml::table& t, const std::string& key, uint64_t v) { InsertU64(t, key.c_str(), v); }
void Put(toml::table& t, const std::string& key, double v) { t.insert_or_assign(key, v); }
void Put(toml::table& t, const std::string& key, std::chrono::milliseconds v) {
  t.insert_or_assign(key, std::to_string(v.count()) + "ms");
}
template <class T>
void Put(toml::table& t, const std::string& key, const std::optional<T>& v) {
  if (v) Put(t, key, *v);
}
// limits.memory / limits.pids: bounded by default (policy.h), so an unset one is written "unlimited".
void Put(toml::table& t, const std::string& key, const std::optional<uint64_t>& v) {
  if (v) {
    Put(t, key, *v);
  } else {
    t.insert_or_assign(key, "unlimited");
  }
}
void Put(toml::table& t, const std::string& key, const std::vector<int>& v) {
  toml::array fds;
  for (int fd : v) fds.push_back(static_cast<int64_t>(fd));
  t.insert_or_assign(key, std::move(fds));
}
void Put(toml::table& t, const std::string& key, const std::map<std::string, std::string>& v) {
  toml::table env;
  for (const auto& [k, value] : v) env.insert_or_assign(k, value);
  t.insert_or_assign(key, std::move(env));
}
void Put(toml::table& t, const std::string& key, const std::vector<RlimitEntry>& v) {
  toml::table rl;
  for (const RlimitEntry& r : v) rl.insert_or_assign(r.name, RlimitText(r.soft) + ":" + RlimitText(r.hard));
  t.insert_or_assign(key, std::move(rl));
}
// [[mount]]: an ordered array, so that loading the output reproduces the exact mount order.
void Put(toml::table& t, const std::string& key, const std::vector<MountEntry>& v) {
  toml::array mounts;
  for (const MountEntry& m : v) {
    toml::table e;
    e.insert_or_assign("type", MountKindName(m.kind));
    e.insert_or_assign("dst", m.dst);
    if (m.kind == MountEntry::Kind::kFile) {
      e.insert_or_assign("content", m.src);
    } else if (!m.src.empty()) {
      e.insert_or_assign("src", m.src);
    }
    if (m.size_bytes) InsertU64(e, "size", m.size_bytes);
    if (m.optional) e.insert_or_assign("optional", true);
    if (!m.layer.empty()) e.insert_or_assign("layer", m.layer);
    if (m.fuse) e.insert_or_assign("fuse", true);
    mounts.push_back(std::move(e));
  }
  if (!mounts.empty()) t.insert_or_assign(key, std::move(mounts));
}

}  // namespace

std::string PolicyToToml(const Policy& p) {
  toml::table root;
  root.insert_or_assign("description", "effective policy " + p.name);
  ForEachPolicyField(p, [&root](const PolicyFieldInfo& field, const auto& value) {
    if (field.toml.empty()) return;  // provenance: not part of a profile
    size_t dot = field.toml.find('.');
    toml::table* section = &root;
    if (dot != std::string_view::npos) {
      auto [it, added] = root.emplace<toml::table>(field.toml.substr(0, dot));
      section = it->second.as_table();
    }
    Put(*section, std::string(field.toml.substr(dot == std::string_view::npos ? 0 : dot + 1)), value);
  });
  std::ostringstream out;
  out << toml::toml_formatter(root);
  out << "\n";
  return out.str();
}

}  // namespace airlock
