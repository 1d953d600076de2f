#include "analyze/work_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace airlock::analyze {

Status MakePrivateDir(const std::string& path, HostIds owner) {
  if (::mkdir(path.c_str(), 0700) != 0) return ErrnoError("create " + path);
  if (owner.uid == ::geteuid() && owner.gid == ::getegid()) return Ok();
  if (::lchown(path.c_str(), owner.uid, owner.gid) != 0) return ErrnoError("chown " + path);
  return Ok();
}

Status PrepareWorkDir(const std::string& work, bool with_members, HostIds owner) {
  std::error_code ec;
  std::filesystem::remove_all(work, ec);  // never follows symlinks: removes a link, not its target
  if (ec) return MakeError("remove the previous " + work + ": " + ec.message());
  AIRLOCK_TRY_STATUS(MakePrivateDir(work, HostIds{::geteuid(), ::getegid()}), "work directory");
  for (const char* d : {"/sample", "/tmp", "/home"}) AIRLOCK_TRY_STATUS(MakePrivateDir(work + d, owner), "work directory");
  if (with_members) AIRLOCK_TRY_STATUS(MakePrivateDir(work + "/sample/members", owner), "work directory");
  return Ok();
}

}  // namespace airlock::analyze
