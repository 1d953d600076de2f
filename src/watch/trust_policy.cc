#include "watch/trust_policy.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/file_read.h"

namespace airlock::watch {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kClean: return "clean";
    case Verdict::kSuspicious: return "suspicious";
    case Verdict::kMalicious: return "malicious";
    case Verdict::kReleased: return "released";
    case Verdict::kUnknown: break;
  }
  return "unknown";
}

Verdict ParseVerdict(std::string_view text) {
  if (text == "clean") return Verdict::kClean;
  if (text == "suspicious") return Verdict::kSuspicious;
  if (text == "malicious") return Verdict::kMalicious;
  if (text == "released") return Verdict::kReleased;
  return Verdict::kUnknown;
}

PathAliases MergedUsrAliases(const std::string& root) {
  PathAliases out;
  for (const char* d : {"bin", "sbin", "lib", "lib32", "lib64", "libx32"}) {
    char target[256];
    const std::string link = (root.ends_with('/') ? root : root + "/") + d;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    std::string t(target, static_cast<size_t>(n));
    if (t == std::string("usr/") + d || t == std::string("/usr/") + d) out.push_back({std::string("/") + d + "/", std::string("/usr/") + d + "/"});
  }
  return out;
}

std::string CanonicalPath(std::string_view path, const PathAliases& aliases) {
  for (const auto& [from, to] : aliases) {
    if (path.starts_with(from)) return to + std::string(path.substr(from.size()));
  }
  return std::string(path);
}

namespace {

bool IsHex(std::string_view s, size_t len) {
  return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

template <class F>
void ForEachLine(std::string_view text, F f) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty()) f(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace

void ParseDiversions(std::string_view text, const PathAliases& aliases, DpkgIndex& into) {
  std::vector<std::string_view> group;
  ForEachLine(text, [&](std::string_view line) {
    group.push_back(line);
    if (group.size() < 3) return;
    if (group[0].front() == '/' && group[1].front() == '/') {
      into.diversions[CanonicalPath(group[0], aliases)] = {CanonicalPath(group[1], aliases), std::string(group[2])};
    }
    group.clear();
  });
}

namespace {

// Where `package`'s file `path` really is: the diversion's target unless `package` made the diversion.
std::string InstalledPath(const DpkgIndex& index, std::string path, std::string_view package) {
  auto d = index.diversions.find(path);
  if (d == index.diversions.end() || d->second.by == package) return path;
  return d->second.to;
}

// "name:arch.md5sums" -> "name".
std::string_view PackageOf(std::string_view file_name) {
  return file_name.substr(0, std::min(file_name.find(':'), file_name.rfind('.')));
}

}  // namespace

void ParseMd5sums(std::string_view text, const PathAliases& aliases, DpkgIndex& into, std::string_view package) {
  ForEachLine(text, [&](std::string_view line) {
    if (line.size() < 35 || line[32] != ' ' || line[33] != ' ' || !IsHex(line.substr(0, 32), 32)) return;
    std::string_view rel = line.substr(34);
    if (rel.empty()) return;
    std::string path = rel.front() == '/' ? std::string(rel) : "/" + std::string(rel);
    into.md5[InstalledPath(into, CanonicalPath(path, aliases), package)] = Lower(line.substr(0, 32));
  });
}

void ParseList(std::string_view text, const PathAliases& aliases, DpkgIndex& into, std::string_view package) {
  ForEachLine(text, [&](std::string_view line) {
    if (line.front() == '/') into.listed.insert(InstalledPath(into, CanonicalPath(line, aliases), package));
  });
}

Result<DpkgIndex> LoadDpkgIndex(const std::string& info_dir, const PathAliases& aliases) {
  DIR* d = ::opendir(info_dir.c_str());
  if (d == nullptr) return ErrnoError("dpkg database: open " + info_dir);
  DpkgIndex index;
  if (auto div = ReadRegularFileBounded(info_dir + "/../diversions", 16u << 20, "larger than 16 MiB")) {
    ParseDiversions(*div, aliases, index);
  }
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    bool md5 = name.ends_with(".md5sums");
    bool list = name.ends_with(".list");
    if (!md5 && !list) continue;
    auto text = ReadRegularFileBounded(info_dir + "/" + std::string(name), 64u << 20, "larger than 64 MiB");
    if (!text) continue;  // a package being removed right now: its files are simply not trusted
    if (md5) ParseMd5sums(*text, aliases, index, PackageOf(name));
    if (list) {
      ParseList(*text, aliases, index, PackageOf(name));
      ++index.packages;
    }
  }
  ::closedir(d);
  return index;
}

Status AddAllowEntry(AllowList& list, std::string_view entry, const PathAliases& aliases) {
  if (entry.starts_with("sha256:")) {
    std::string_view hex = entry.substr(7);
    if (!IsHex(hex, 64)) return MakeError("allow-list entry '" + std::string(entry) + "': sha256: needs 64 hex digits");
    list.sha256.insert(Lower(hex));
    return Ok();
  }
  if (entry.empty() || entry.front() != '/' || entry.find("/../") != std::string_view::npos || entry.ends_with("/..")) {
    return MakeError("allow-list entry '" + std::string(entry) + "': expected an absolute path, a directory ending in '/', or sha256:HEX");
  }
  std::string path = CanonicalPath(entry, aliases);
  if (path.ends_with('/')) list.dirs.push_back(path);
  else list.paths.insert(path);
  return Ok();
}

bool UnderAny(const std::vector<std::string>& dirs, std::string_view path) {
  return std::any_of(dirs.begin(), dirs.end(), [&](const std::string& d) { return path.starts_with(d); });
}

Classification Classify(const FileFacts& file, const DpkgIndex& dpkg, const AllowList& allow,
                        const std::vector<std::string>& watched_dirs) {
  Classification c;
  c.watched = file.has_origin || UnderAny(watched_dirs, file.path);
  if (auto it = dpkg.md5.find(file.path); it != dpkg.md5.end()) {
    c.kind = Classification::Kind::kVerifyMd5;
    c.md5 = it->second;
    c.reason = "dpkg";
    return c;
  }
  if (c.watched) return c;
  if (dpkg.listed.contains(file.path) && file.root_owned_not_writable) {
    c.kind = Classification::Kind::kTrusted;
    c.reason = "dpkg conffile";
  } else if (allow.paths.contains(file.path) || UnderAny(allow.dirs, file.path)) {
    c.kind = Classification::Kind::kTrusted;
    c.reason = "allow-list path";
  }
  return c;
}

}  // namespace airlock::watch
