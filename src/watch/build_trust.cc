#include "watch/build_trust.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/unique_fd.h"
#include "watch/file_hash.h"

namespace airlock::watch {

namespace {

constexpr size_t kMaxEntries = 65536;

FileKey InodeKey(const struct stat& st) { return FileKey{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), 0}; }

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

std::set<std::string> DefaultBuilders() {
  return {"ld",      "ld.bfd",  "ld.gold", "ld.lld",  "lld",   "mold",    "collect2", "as",  "x86_64-linux-gnu-ld.bfd",
          "x86_64-linux-gnu-ld.gold", "x86_64-linux-gnu-as", "aarch64-linux-gnu-ld.bfd", "aarch64-linux-gnu-as",
          "strip",   "objcopy", "x86_64-linux-gnu-strip", "x86_64-linux-gnu-objcopy", "rustc", "link"};
}

BuildTrust::BuildTrust(BuildTrustOptions options, std::function<std::string(const std::string&)> dpkg_md5)
    : o_(std::move(options)), dpkg_md5_(std::move(dpkg_md5)) {}

void BuildTrust::NoteProcess(pid_t pid, const std::string& exe) {
  const bool builder = !exe.empty() && o_.builders.contains(BaseName(exe));
  std::lock_guard lock(mu_);
  if (!builder) {
    builders_.erase(pid);  // a reused pid is never a builder by its predecessor's name
    return;
  }
  if (builders_.size() >= kMaxEntries) builders_.clear();
  builders_[pid] = exe;
}

void BuildTrust::Written(pid_t pid, const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  std::lock_guard lock(mu_);
  auto b = builders_.find(pid);
  if (b == builders_.end()) {
    if (built_.erase(InodeKey(st)) > 0) stats_.tainted.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (built_.size() >= kMaxEntries) built_.clear();
  built_[InodeKey(st)] = b->second;
  stats_.built.fetch_add(1, std::memory_order_relaxed);
}

// The builder's executable is dpkg's, unchanged (MD5), once per version of it.
bool BuildTrust::ExeVerified(const std::string& exe) {
  UniqueFd fd(::open(exe.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st{};
  if (!fd || ::fstat(fd.get(), &st) != 0) return false;
  const FileKey key = FileKeyOf(st);
  {
    std::lock_guard lock(mu_);
    if (auto it = exe_ok_.find(key); it != exe_ok_.end()) return it->second;
  }
  const std::string want = dpkg_md5_ ? dpkg_md5_(exe) : "";
  bool ok = false;
  if (!want.empty()) {
    auto md5 = Md5OfFd(fd.get());
    ok = md5 && *md5 == want;
  }
  std::lock_guard lock(mu_);
  if (exe_ok_.size() >= 4096) exe_ok_.clear();
  exe_ok_[key] = ok;
  return ok;
}

std::optional<std::string> BuildTrust::BuiltBy(int fd) {
  if (drain_) drain_();
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  std::string exe;
  {
    std::lock_guard lock(mu_);
    auto it = built_.find(InodeKey(st));
    if (it == built_.end()) return std::nullopt;
    exe = it->second;
  }
  if (!ExeVerified(exe)) {
    stats_.unverified.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  stats_.trusted.fetch_add(1, std::memory_order_relaxed);
  return exe;
}

}  // namespace airlock::watch
