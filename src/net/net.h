// Networking. kNone: a fresh network namespace with only loopback up. kHost: the host's namespace
// (explicit opt-in, reported as a weakening). kUser: a fresh namespace connected to the outside by a
// user-mode stack (pasta from Debian's passt, else slirp4netns) started by the parent.
//
// The user-mode stack parses every packet the sandbox sends, so it runs with least privilege
// (net/helper_creds.h): as the sandbox's user (root caller: the unprivileged outside uid), inside the
// sandbox's user namespace with only the capabilities it needs to attach (none over the host),
// no_new_privs, a parent-death signal; then its own sandbox: pasta moves to its own mount, IPC and
// UTS namespaces on an empty root, drops what it does not need and installs its seccomp filter;
// slirp4netns --enable-seccomp, and --enable-sandbox (own mount namespace, every capability but
// CAP_NET_BIND_SERVICE dropped) where the sandbox's inside uid is 0, which its sandbox requires.
// StartUserNetFromParent reads back from /proc what the helper really holds (HelperReport).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"

namespace airlock {

// Child side: brings up "lo" in the current network namespace. Returns 0 or -errno.
int BringUpLoopbackInChild();

// Parent side: which user-mode network helper would be used ("pasta", "slirp4netns" or ""). The
// environment variable AIRLOCK_NET_HELPER (slirp4netns|pasta) picks one (benchmarks, tests).
std::string FindUserNetHelper();

// Parent side: "" when an unprivileged helper can open /dev/net/tun, else the reason and the fix.
std::string DiagnoseTunDevice();

// Who a helper becomes: the sandbox's ids inside its user namespace, and the host uid they map to.
struct HelperIdentity {
  uid_t inside_uid = 0;
  gid_t inside_gid = 0;
  uid_t outside_uid = 0;
};

// One helper process as `--report` lists it (runapi/run_report.h "helpers").
struct HelperReport {
  std::string name;                       // "slirp4netns", "pasta", "netns-setup"
  int64_t uid = -1;                       // host uid it ran as
  bool sandboxed = false;                 // no_new_privs, no capability over the host, own namespaces
  bool seccomp = false;                   // a seccomp filter of its own
  bool no_new_privs = false;
  std::vector<std::string> capabilities;  // effective, after setup (in the sandbox's user namespace)
  std::string detail;                     // how it is confined, in words
};

// Parent side: a running user-mode network helper attached to the child's namespaces; stopped on
// destruction.
class UserNet {
 public:
  UserNet() = default;
  UserNet(UserNet&& o) noexcept
      : pid_(o.pid_), helper_(std::move(o.helper_)), exit_fd_(o.exit_fd_), err_fd_(o.err_fd_), report_(std::move(o.report_)) {
    o.pid_ = -1;
    o.exit_fd_ = -1;
    o.err_fd_ = -1;
  }
  UserNet& operator=(UserNet&&) = delete;
  ~UserNet();
  const std::string& helper() const { return helper_; }
  const HelperReport& report() const { return report_; }

 private:
  friend Result<UserNet> StartUserNetFromParent(pid_t child, const NetPolicy& net, const HelperIdentity& who);
  pid_t pid_ = -1;
  std::string helper_;
  int exit_fd_ = -1;  // closing it tells slirp4netns to exit
  // The read end of the helper's stderr, kept open and unread after start: its writes (non-blocking)
  // then fail with EAGAIN once the pipe is full, never block it or kill it with SIGPIPE.
  int err_fd_ = -1;
  HelperReport report_;
};

// Starts the helper for `child` (the sandbox init, not yet released) and waits until it is ready
// (at most 5 s). A helper that fails says why: its own stderr is in the error, with the fix.
Result<UserNet> StartUserNetFromParent(pid_t child, const NetPolicy& net, const HelperIdentity& who);

// Parent side: what /proc/PID/status says about a running helper (Uid, CapEff, CapBnd, NoNewPrivs,
// Seccomp). Pure parser exposed for tests.
struct ProcStatusCreds {
  int64_t uid = -1;
  uint64_t cap_eff = 0, cap_bnd = 0;
  bool no_new_privs = false;
  int seccomp = 0;
};
ProcStatusCreds ParseProcStatusCreds(const std::string& status);

}  // namespace airlock
