// `airlock run`'s command-line overrides of a loaded policy, as values (the CLI binds its flags to a
// PolicyOverrides; tests build one directly). Which field each flag changes is listed in
// policy/policy_fields.h (the `cli` column) and checked by tests/unit/policy_fields_test.cc.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"

namespace airlock {

struct PolicyOverrides {
  std::vector<std::pair<std::string, std::string>> bind, ro_bind, dev_bind;  // --bind SRC DST ...
  std::vector<std::string> tmpfs;                                            // --tmpfs DST[:SIZE]
  std::string tmp_size, shm_size, home_size;  // --tmp-size, --shm-size, --home-size ("" = keep the profile's)
  std::string tmpfs_inodes;                   // --tmpfs-inodes N
  std::string chdir;
  bool workdir = false;  // --workdir: bind the working directory read-write and chdir there
  std::string net;       // none, host, user, sinkhole ("" = keep the profile's)
  std::vector<std::string> net_allow;
  std::vector<int> listen;  // --listen PORT: TCP ports the sandbox may bind
  std::string memory, cpu, timeout;  // as typed: "512m", "25%", "unlimited"; "0.5"; "30s"
  std::string pids;                  // "1024" or "unlimited"; "" = keep the profile's
  std::vector<std::string> rlimits;  // NAME=VALUE
  std::vector<std::string> setenv, keep_env;
  std::vector<int> pass_fds;
  bool host_terminal = false;  // --host-terminal: the payload gets the caller's terminal (weakening)
  std::string hostname;
  int64_t uid = -1, gid = -1;
  std::vector<std::string> allow, deny;  // seccomp groups or syscalls
  std::string landlock;                  // required, best-effort, disabled

  // True when an override changes the sandbox itself; the environment (--setenv, --keep-env),
  // --timeout and --host-terminal are applied by the client and leave a warm sandbox's policy as it is.
  bool ChangesSandbox() const;
};

// Parses "NAME=VALUE" (rlimit/rlimit.h ParseRlimitSpec; passed in because rlimit depends on policy).
using RlimitSpecParser = Result<RlimitEntry> (*)(const std::string& spec);

// Applies `o` to `policy` in a fixed order (mounts, network, limits, process, seccomp/Landlock): lists
// are appended to, scalars replaced. `cwd` is the working directory --workdir binds. The first bad
// value is an error naming its flag; `policy` is then partly changed and must be discarded.
Status ApplyOverrides(Policy& policy, const PolicyOverrides& o, const std::string& cwd, RlimitSpecParser parse_rlimit);

}  // namespace airlock
