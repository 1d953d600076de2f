#include "core/private_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <filesystem>

namespace airlock {

Status MakePrivateDirs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Ok();  // the usual case: one call, not one per component
  std::error_code ec;
  const std::filesystem::path full = std::filesystem::absolute(path, ec);
  if (ec) return MakeError(path + ": " + ec.message());
  std::filesystem::path built;
  for (const auto& part : full) {
    built /= part;
    if (::mkdir(built.c_str(), 0700) == 0) {
      ::chmod(built.c_str(), 0700);  // the umask may have taken bits away, never added: exact 0700
    } else if (errno != EEXIST) {
      return ErrnoError("create " + built.string());
    }
  }
  if (::stat(full.c_str(), &st) != 0) return ErrnoError(full.string());
  if (!S_ISDIR(st.st_mode)) return MakeError(full.string() + " is not a directory");
  return Ok();
}

bool IsPrivateDirOf(const struct stat& st, uid_t uid) {
  return S_ISDIR(st.st_mode) && st.st_uid == uid && (st.st_mode & 077) == 0;
}

Status CheckPrivateDir(const std::string& path, const char* what) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return ErrnoError(fmt::format("{} {}", what, path));
  if (!S_ISDIR(st.st_mode)) return MakeError(fmt::format("{} {} is not a directory (a symlink is refused)", what, path));
  if (st.st_uid != ::geteuid()) {
    return MakeError(fmt::format("{} {} is owned by uid {}, not by you (uid {}): refusing to use it", what, path, st.st_uid, ::geteuid()));
  }
  if (!IsPrivateDirOf(st, ::geteuid())) {
    return MakeError(fmt::format("{} {} is accessible to other users (mode {:04o}); run: chmod 700 '{}'", what, path, st.st_mode & 07777, path));
  }
  return Ok();
}

}  // namespace airlock
