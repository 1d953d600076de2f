// Transitive trust for builds (docs/ENDPOINT.md "Builds"; off by default): a program that a trusted
// builder (the linker, the assembler, strip...) wrote in a build directory runs without waiting for a
// verdict of its own, as Santa's transitive allow-listing does for compilers.
//
// Contract:
//  - A builder is a process whose executable's file name is in `builders` and whose executable is
//    one dpkg installed, verified by MD5 (once per executable version, off the gate's reader thread).
//  - The gate calls NoteProcess(pid, exe) at every open it is asked about (the process waits
//    meanwhile, so /proc names the right executable); a process that is not a builder is forgotten.
//  - The directory watcher calls Written(pid, path) for every close-write in a build directory. By a
//    noted builder: the file (device, inode) is "built by <exe>"; by anyone else: it is not (tainted).
//  - The gate calls BuiltBy(fd) at an exec of content without a verdict, in a build directory. The
//    watcher's pending events are drained first: execve refuses a file still open for writing
//    (ETXTBSY) and the kernel queues a close-write before it lets go of the writer, so every write
//    to the file is known by then. It answers the builder's path when the last writer was a verified
//    builder, else nothing. What a builder wrote is trusted by its content from then on.
//  - Bounded: past 65,536 processes or files the table is cleared (a forgotten file is judged as
//    any other; never trusted by mistake). Thread-safe.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "watch/decision_cache.h"
#include "watch/trust_policy.h"

namespace airlock::watch {

struct BuildTrustOptions {
  std::vector<std::string> dirs;      // canonical, each ending in '/'
  std::set<std::string> builders;     // executable file names
};

// The default builders: GNU and LLVM linkers and assemblers, gcc's and clang's drivers' helpers,
// strip/objcopy, rustc, go's link.
std::set<std::string> DefaultBuilders();

struct BuildTrustStats {
  std::atomic<uint64_t> built{0}, tainted{0}, trusted{0}, unverified{0};
};

class BuildTrust {
 public:
  // `dpkg_md5(canonical path)` gives dpkg's MD5 of an installed file ("" when dpkg has none).
  BuildTrust(BuildTrustOptions options, std::function<std::string(const std::string&)> dpkg_md5);

  bool InBuildDir(const std::string& path) const { return UnderAny(o_.dirs, path); }
  const std::vector<std::string>& dirs() const { return o_.dirs; }
  void SetDrain(std::function<void()> drain) { drain_ = std::move(drain); }

  void NoteProcess(pid_t pid, const std::string& exe);
  void Written(pid_t pid, const std::string& path);
  std::optional<std::string> BuiltBy(int fd);
  const BuildTrustStats& stats() const { return stats_; }

 private:
  bool ExeVerified(const std::string& exe);

  const BuildTrustOptions o_;
  std::function<std::string(const std::string&)> dpkg_md5_;
  std::function<void()> drain_;
  BuildTrustStats stats_;
  std::mutex mu_;
  std::unordered_map<pid_t, std::string> builders_;                   // pid -> executable
  std::unordered_map<FileKey, std::string, FileKeyHash> built_;       // (dev, ino, 0) -> builder
  std::unordered_map<FileKey, bool, FileKeyHash> exe_ok_;             // executable version -> verified
};

}  // namespace airlock::watch
