// Finding airlock's own programs and data: one rule for every binary that starts a sibling (the
// `airlock` front end execs airlock-scan/-analyze/-milter; analyze, milter and scan run `airlock run`;
// analyze runs airlock-scan and mounts airlock-browse).
//
// FindHelper(name) tries, in order, and returns the first executable as a canonical path:
//   1. overrides: $AIRLOCK_LIBEXEC_DIR/<name> (any helper), and for name "airlock" $AIRLOCK_BIN (the
//      front end itself; tests point it at the build's binary). An override that is not executable
//      is skipped, not fatal.
//   2. beside the running binary: <dir of /proc/self/exe>/<name> (staged copies, tests)
//   3. the build tree: <build>/src/<module>/<name>, i.e. <dir>/../<module>/<name>, the module from
//      HelperBuildDir(name); from a test binary in <build>/tests/<tier>/, <dir>/../../src/<module>/<name>
//   4. the install layout relative to the running binary: bin/ <-> libexec/airlock/
//      (<dir>/../libexec/airlock/<name>, <dir>/../../bin/<name>, <dir>/../bin/<name>)
//   5. the configured AIRLOCK_LIBEXECDIR/<name>
// "" when none is executable. Thread-safe; reads the environment and the file system on each call.
#pragma once

#include <string>
#include <vector>

namespace airlock {

std::string FindHelper(const std::string& name);
// The candidates of FindHelper in order (for messages: "looked in ...", and tests).
std::vector<std::string> HelperCandidates(const std::string& name);
// The build-tree folder under src/ that builds `name` ("cli" for airlock, "scan" for airlock-scan, ...).
std::string HelperBuildDir(const std::string& name);

// The running binary (/proc/self/exe, resolved), "" if unreadable.
std::string SelfExe();

// airlock's rule directory: $AIRLOCK_RULES_DIR, else the installed share/airlock/rules beside the
// install layout of the running binary (<exe>/../../share/airlock/rules, used when it has the
// subfolder `probe`, e.g. "yara"), else `source_dir` (the source tree's rules/, a build-tree run).
std::string FindRulesDir(const std::string& probe, const std::string& source_dir);

}  // namespace airlock
