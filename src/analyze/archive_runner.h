// The archive runner: static triage extracts every object of the archive (airlock-scan --extract,
// itself sandboxed); the runnable members (ELF, shell, Python, Perl) are then detonated together in
// one analysis sandbox by a generated driver script that starts each in the background and waits,
// so a member that blocks (a reverse shell waiting for its peer) does not hide the others.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace airlock::analyze {

struct ArchiveMember {
  std::string file;               // extracted file name in the members directory ("000003-run.sh")
  std::string name;               // the member's own leaf name ("run.sh")
  std::string kind;               // runner kind: "elf", "shell", "python", "perl"
  std::vector<std::string> argv;  // command inside the sandbox
};

// Scans `members_dir` (host path, files written by the extractor) in name order and returns at most
// `max` runnable members, their commands pointing into `in_sandbox` (where the directory is mounted).
// Files are opened with O_NOFOLLOW and only regular files are considered.
std::vector<ArchiveMember> RunnableMembers(const std::string& members_dir, const std::string& in_sandbox, size_t max);

// The /bin/sh driver that detonates `members` concurrently. Arguments are single-quoted.
std::string MemberDriverScript(const std::vector<ArchiveMember>& members);

}  // namespace airlock::analyze
