#include "core/runtime_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "core/log.h"
#include "core/private_dir.h"

namespace airlock {

namespace {

bool IsPrivateDirOfOurs(const std::string& path, uid_t uid) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && IsPrivateDirOf(st, uid);
}

// The fallback when /tmp/airlock-UID is taken: the first (by name) /tmp/airlock-UID.XXXXXX that is a
// private directory of ours; another user can create such names but never one owned by us. With
// `create` and none found, a fresh one (mkdtemp: mode 0700). "" if there is none.
std::string FallbackDir(uid_t uid, bool create) {
  const std::string prefix = fmt::format("airlock-{}.", uid);
  std::string best;
  if (DIR* d = ::opendir("/tmp")) {
    while (const struct dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (name.size() != prefix.size() + 6 || name.substr(0, prefix.size()) != prefix) continue;
      struct stat st {};
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !IsPrivateDirOf(st, uid)) continue;
      if (best.empty() || name < best) best = name;
    }
    ::closedir(d);
  }
  if (!best.empty()) return "/tmp/" + best;
  if (!create) return "";
  std::string templ = "/tmp/" + prefix + "XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) return "";
  return templ;
}

// The uid a name of the form PREFIX<digits>[.XXXXXX] names, or -1.
long UidInName(std::string_view name, std::string_view prefix) {
  if (name.substr(0, prefix.size()) != prefix) return -1;
  name.remove_prefix(prefix.size());
  if (auto dot = name.find('.'); dot != std::string_view::npos) {
    if (name.size() - dot != 7) return -1;
    name = name.substr(0, dot);
  }
  long uid = -1;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), uid);
  return ec == std::errc() && end == name.data() + name.size() && !name.empty() ? uid : -1;
}

// Entries of `parent` named PREFIX<uid>[.XXXXXX] (+ `sub`) that are private directories of that uid.
void CollectOthers(const char* parent, std::string_view prefix, const char* sub, std::vector<OtherRuntimeDir>* out) {
  DIR* d = ::opendir(parent);
  if (d == nullptr) return;
  while (const struct dirent* e = ::readdir(d)) {
    const long uid = UidInName(e->d_name, prefix);
    if (uid < 0 || static_cast<uid_t>(uid) == ::geteuid()) continue;
    const std::string path = fmt::format("{}/{}{}", parent, e->d_name, sub);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && IsPrivateDirOf(st, static_cast<uid_t>(uid))) {
      out->push_back({path, static_cast<uid_t>(uid)});
    }
  }
  ::closedir(d);
}

}  // namespace

std::string UserRuntimeDir(bool create) {
  const uid_t uid = geteuid();
  if (uid == 0) return "/run/airlock";
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg == '/') {
    if (IsPrivateDirOfOurs(xdg, uid)) return std::string(xdg) + "/airlock";
  }
  // /tmp is shared: another local user may have taken /tmp/airlock-UID first (a directory of theirs,
  // or a symlink) to keep this user's pool from starting or to serve it sandboxes. Never use it then.
  const std::string dir = fmt::format("/tmp/airlock-{}", uid);
  if (create && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    LogWarning("cannot create {}: {}", dir, std::strerror(errno));
  }
  struct stat st {};
  // Absent (a client only looks: nothing is there yet) or ours: the usual place.
  if (::lstat(dir.c_str(), &st) != 0 || IsPrivateDirOf(st, uid)) return dir;
  std::string fallback = FallbackDir(uid, create);
  if (create) {
    LogWarning("{} is not a private directory of uid {} ({}; another user may have created it): using {} instead",
               dir, uid, S_ISLNK(st.st_mode) ? "a symlink" : fmt::format("owner {}, mode {:04o}", st.st_uid, st.st_mode & 07777),
               fallback.empty() ? "nothing (mkdtemp failed)" : fallback);
  }
  return fallback.empty() ? dir : fallback;
}

std::vector<OtherRuntimeDir> OtherUsersRuntimeDirs() {
  std::vector<OtherRuntimeDir> out;
  CollectOthers("/tmp", "airlock-", "", &out);
  CollectOthers("/run/user", "", "/airlock", &out);
  return out;
}

}  // namespace airlock
