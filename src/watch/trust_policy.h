// The gate's trust policy, pure: which files may run on the host, decided from facts the caller
// gathers (path, origin xattr, dpkg's database, the admin's allow-list, verdicts by SHA-256).
//
// Trust sources, strongest first (docs/ENDPOINT.md "Trust"):
//  1. the admin's allow-list by content: "sha256:HEX" entries allow that content anywhere;
//  2. dpkg: a file dpkg installed (a path in /var/lib/dpkg/info/*.md5sums) is trusted when its MD5
//     matches dpkg's record, checked on first sight and again whenever its ctime moves; a path dpkg
//     lists without a checksum (conffiles) is trusted when owned by root and not group/other-writable;
//  3. the admin's allow-list by path: exact paths, and directories (entries ending in '/');
//  4. a verdict of airlock's own (trust database, by SHA-256): clean, or suspicious released by a user.
// A "watched" file (in a watched directory, or carrying the origin xattr, xattr_names.h) is never
// trusted by path (3): only by content (1, 4) or dpkg (2).
//
// Merged /usr: dpkg records /bin/sh while the kernel reports /usr/bin/dash's real path; paths are
// canonicalised through the top-level symlinks (/bin -> usr/bin, ...) found at load time.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/error.h"

namespace airlock::watch {

enum class Verdict { kUnknown, kClean, kSuspicious, kMalicious, kReleased };
const char* VerdictName(Verdict v);
Verdict ParseVerdict(std::string_view text);  // unknown text -> kUnknown
// clean and released run; everything else (unknown included) does not.
inline bool VerdictAllowsRun(Verdict v) { return v == Verdict::kClean || v == Verdict::kReleased; }

// Top-level prefixes that are symlinks into /usr ({"/bin/", "/usr/bin/"}, ...).
using PathAliases = std::vector<std::pair<std::string, std::string>>;
// The aliases of merged /usr under `root` ("/" on a host): each of bin, sbin, lib, lib32, lib64,
// libx32 that is a symlink to usr/<same>.
PathAliases MergedUsrAliases(const std::string& root = "/");
std::string CanonicalPath(std::string_view path, const PathAliases& aliases);

// A dpkg diversion (dpkg-divert): every package but `by` installs `from` at `to` instead. `by` is
// ":" for a local diversion (no package exempt).
struct DpkgDiversion {
  std::string to;
  std::string by;
};
struct DpkgIndex {
  std::unordered_map<std::string, std::string> md5;  // canonical path -> lower-case hex MD5
  std::unordered_set<std::string> listed;            // canonical paths listed by any package
  std::unordered_map<std::string, DpkgDiversion> diversions;  // canonical `from` -> where it went
  size_t packages = 0;                               // *.list files read
};
// dpkg's diversions file (three lines per diversion: from, to, the diverting package); a trailing
// incomplete group is ignored.
void ParseDiversions(std::string_view text, const PathAliases& aliases, DpkgIndex& into);
// One *.md5sums file ("HEX  relative/path" per line) of `package`; malformed lines are skipped. A path
// another package diverted is recorded where the file really is (the diversion's `to`).
void ParseMd5sums(std::string_view text, const PathAliases& aliases, DpkgIndex& into, std::string_view package = "");
// One *.list file (one absolute path per line) of `package`, diversions applied as for md5sums.
void ParseList(std::string_view text, const PathAliases& aliases, DpkgIndex& into, std::string_view package = "");
// Every *.md5sums and *.list in `info_dir` (/var/lib/dpkg/info), with the diversions of
// `info_dir`/../diversions (a missing file: none). An unreadable directory is an error
// (the caller decides: the daemon then trusts nothing from dpkg and says so).
Result<DpkgIndex> LoadDpkgIndex(const std::string& info_dir, const PathAliases& aliases);

struct AllowList {
  std::set<std::string> paths;
  std::vector<std::string> dirs;  // each ends in '/'
  std::set<std::string> sha256;   // lower-case hex
};
// Adds "sha256:HEX", "/dir/" or "/path" (absolute, canonicalised); anything else is an error.
Status AddAllowEntry(AllowList& list, std::string_view entry, const PathAliases& aliases);
// `path` is below one of `dirs` (each ending in '/').
bool UnderAny(const std::vector<std::string>& dirs, std::string_view path);

// What the gate must do about one file before answering.
struct Classification {
  enum class Kind {
    kTrusted,    // trusted by path (allow-listed, or a dpkg conffile): no hash needed
    kVerifyMd5,  // dpkg's: trusted if its MD5 is `md5`
    kContent,    // judged by content: SHA-256, then allow-list hashes and verdicts
  } kind = Kind::kContent;
  std::string md5;
  bool watched = false;
  const char* reason = "";  // for the log: "allow-list path", "dpkg conffile", ...
};

struct FileFacts {
  std::string path;          // canonical (CanonicalPath), as the kernel reports it
  bool has_origin = false;   // carries kOriginXattr
  bool root_owned_not_writable = false;  // uid 0, no group/other write bit
};

Classification Classify(const FileFacts& file, const DpkgIndex& dpkg, const AllowList& allow,
                        const std::vector<std::string>& watched_dirs);

}  // namespace airlock::watch
