#include "core/private_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

namespace airlock {

Status MakePrivateDirs(const std::string& path) {
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
  struct stat st {};
  if (::stat(full.c_str(), &st) != 0) return ErrnoError(full.string());
  if (!S_ISDIR(st.st_mode)) return MakeError(full.string() + " is not a directory");
  return Ok();
}

}  // namespace airlock
