// The policy model: everything `airlock run` will enforce, built once from profiles and CLI options,
// validated once (ValidatePolicy), then handed read-only to the sandbox. Every option that weakens
// isolation is a named field here and is printed by --explain and recorded in the report.
// Every field is also described once in policy/policy_fields.h (TOML path, --explain label, CLI flag,
// pool-key scope); adding a member here without describing it there fails the build.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace airlock {

// How hard a layer is required. kRequired: refuse to run if the kernel cannot enforce it.
// kBestEffort: enforce what the kernel offers, warn on stderr and list what was not enforced in the report.
// kDisabled: not applied at all (a weakening, shown by --explain and `airlock audit`).
enum class Requirement { kRequired, kBestEffort, kDisabled };

// kSinkhole: a fresh namespace where DNS and every TCP/UDP destination are answered by airlock's
// supervisor and recorded (src/net/sinkhole.h); nothing leaves the machine.
enum class NetMode { kNone, kHost, kUser, kSinkhole };

struct Namespaces {
  bool user = true;
  bool mount = true;  // always required; kept for explain/audit symmetry
  bool pid = true;
  bool ipc = true;
  bool uts = true;
  bool net = true;  // false only with NetMode::kHost
  bool cgroup = true;
  bool time = false;  // optional

  bool operator==(const Namespaces&) const = default;
};

struct MountEntry {
  enum class Kind {
    kBind,      // read-write bind of a host path
    kRoBind,    // read-only bind of a host path
    kDevBind,   // bind of a device node (explicit; keeps dev)
    kTmpfs,     // fresh tmpfs
    kDir,       // empty directory in the root tmpfs
    kSymlink,   // symlink in the new root (src = target, dst = link path)
    kFile,      // generated read-only file in the new root (src = content), e.g. /etc/passwd
    kOverlay,   // copy-on-write view of a host directory (src): writes land in `layer`, never on the host
  };
  Kind kind = Kind::kRoBind;
  std::string src;          // host path (binds) or link target (symlink)
  std::string dst;          // absolute path inside the sandbox
  uint64_t size_bytes = 0;  // tmpfs size, 0 = default
  bool optional = false;    // skip (and report) if src does not exist (system dirs like /lib64)
  // A bind whose host source is a symlink is recreated as the same symlink inside (never followed).
  std::string origin;       // "profile default line 12" / "--bind" for error messages
  // kOverlay: host directory holding the overlay's `upper/` and `work/` (an `airlock box` layer). The
  // overlay is mounted inside the sandbox's user namespace (userxattr), nosuid and nodev.
  std::string layer;
  // kOverlay: mounted by fuse-overlayfs, run by the sandbox (mount/mount_plan.h), instead of the kernel.
  bool fuse = false;

  bool operator==(const MountEntry&) const = default;
};

struct RlimitEntry {
  std::string name;  // "nofile", "nproc", "as", "core", "fsize", "cpu", "stack", "memlock"...
  uint64_t soft = 0;
  uint64_t hard = 0;

  bool operator==(const RlimitEntry&) const = default;
};

// A limit's value as profiles and --explain write it: "unlimited" for RLIM_INFINITY, else the number.
std::string RlimitText(uint64_t value);

// Bounded by default (docs/LIMITS.md): a policy that says nothing about limits gets these. A profile
// or the command line sets "unlimited" to lift one (memory_bytes / pids = nullopt).
inline constexpr uint64_t kDefaultPidsLimit = 1024;
// Memory: a quarter of the host's RAM, at most 4 GiB (ParseMemoryLimit syntax, resolved when loaded).
inline constexpr const char* kDefaultMemoryLimit = "min(25%, 4g)";
// nr_inodes of every writable tmpfs of the sandbox (/tmp, /dev/shm, home, [[mount]] tmpfs).
inline constexpr uint64_t kDefaultTmpfsInodes = 65536;

// kDefaultMemoryLimit on this host, in bytes (MemTotal from sysinfo(2)).
uint64_t DefaultMemoryLimitBytes();

struct Limits {
  std::optional<uint64_t> memory_bytes = DefaultMemoryLimitBytes();  // nullopt = unlimited
  std::optional<uint64_t> pids = kDefaultPidsLimit;                  // nullopt = unlimited
  std::optional<double> cpus;  // fraction of CPUs, e.g. 0.5
  std::optional<std::chrono::milliseconds> timeout;
  std::vector<RlimitEntry> rlimits;
  // What to do when the cgroup controllers cannot be used (e.g. unprivileged on cgroup v1):
  // kRequired refuses; kBestEffort falls back to rlimits (RLIMIT_AS / RLIMIT_NPROC) and says so;
  // kDisabled never makes a cgroup: memory and pids use those rlimits directly, cpus is refused.
  Requirement cgroup = Requirement::kBestEffort;

  bool operator==(const Limits&) const = default;
};

struct SeccompPolicy {
  Requirement requirement = Requirement::kRequired;
  std::string base = "default";          // name of the base allow-list ("default")
  std::vector<std::string> allow;        // groups ("@ptrace") or syscall names allowed back
  std::vector<std::string> deny;         // groups or syscall names removed from the allow-list
  bool count_denials = true;             // route denials through the supervisor to count them

  bool operator==(const SeccompPolicy&) const = default;
};

struct LandlockPolicy {
  Requirement requirement = Requirement::kBestEffort;
  int min_abi = 1;  // with kRequired: refuse if the kernel's ABI is lower

  bool operator==(const LandlockPolicy&) const = default;
};

struct NetPolicy {
  NetMode mode = NetMode::kNone;
  std::vector<std::string> allow;  // "host:port" / "cidr:port" destinations for NetMode::kUser; empty = any
                                   // (enforced by nftables in the sandbox's netns, by IP resolved at start)
  std::vector<int> listen;  // TCP ports the sandbox may bind (listen on) in its own network namespace
                            // (modes none and user, where Landlock refuses every other bind); 1-65535

  bool operator==(const NetPolicy&) const = default;
};

struct IdentityPolicy {
  std::optional<uid_t> uid;          // inside uid; default: caller's uid (0 when root runs airlock)
  std::optional<gid_t> gid;
  uid_t outside_uid_when_root = 65534;  // host uid the sandbox maps to when root runs airlock
  gid_t outside_gid_when_root = 65534;

  bool operator==(const IdentityPolicy&) const = default;
};

struct Policy {
  std::string name = "default";
  std::vector<std::string> sources;  // profile files / built-ins this policy was built from

  Namespaces ns;
  IdentityPolicy identity;
  std::vector<MountEntry> mounts;  // applied in order after the built-in root skeleton
  bool mount_proc = true;
  bool mount_dev = true;
  std::string tmp_size = "64m";    // private /tmp; also the size of a [[mount]] tmpfs that names none
  std::string shm_size = "64m";    // private /dev/shm (with mount_dev)
  std::string home = "/home/sandbox";
  std::string home_size = "256m";  // the private home tmpfs
  uint64_t tmpfs_inodes = kDefaultTmpfsInodes;  // nr_inodes of each writable tmpfs
  std::optional<std::string> chdir;

  std::string hostname = "airlock";
  bool new_session = true;      // setsid(): TIOCSTI defence
  bool die_with_parent = true;
  bool new_keyring = true;
  std::vector<int> pass_fds;
  // Give the payload the caller's terminal itself instead of a pseudo-terminal of its own (src/tty):
  // a weakening (it can change the terminal's modes, read what is typed, leave it changed).
  bool host_terminal = false;

  std::vector<std::string> env_keep = {"PATH", "TERM", "LANG", "LC_ALL", "TZ"};
  std::map<std::string, std::string> env_set;

  SeccompPolicy seccomp;
  LandlockPolicy landlock;
  NetPolicy net;
  Limits limits;

  // Weakenings that need an explicit opt-in; each is reported.
  bool allow_nested_userns = false;
  // The payload keeps its capabilities inside its user namespace (no bounding-set drop, no clearing;
  // meaningful only with inside uid 0). For tests that prove the capability drop on its own.
  bool keep_capabilities = false;

  bool operator==(const Policy&) const = default;
};

// Checks the policy for contradictions and unsafe combinations; collects all problems into one Error.
Status ValidatePolicy(const Policy& policy);

// Human-readable effective policy for `airlock run --explain` / `airlock profile show`. mount_notes[i],
// when given and not empty, is printed under policy.mounts[i] (what this host and caller make of it,
// e.g. an idmapped bind: mount/mount_plan.h).
std::string ExplainPolicy(const Policy& policy, const std::vector<std::string>& mount_notes = {});

const char* RequirementName(Requirement r);
const char* NetModeName(NetMode m);
// The profile spelling of a mount kind: "bind", "ro-bind", "dev-bind", "tmpfs", "dir", "symlink", "file".
const char* MountKindName(MountEntry::Kind kind);

}  // namespace airlock
