// Networking. kNone: a fresh network namespace with only loopback up. kHost: the host's namespace
// (explicit opt-in, reported as a weakening). kUser: a fresh namespace connected to the outside by a
// user-mode stack (pasta from Debian's passt, else slirp4netns) started by the parent.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/error.h"
#include "policy/policy.h"

namespace airlock {

// Child side: brings up "lo" in the current network namespace. Returns 0 or -errno.
int BringUpLoopbackInChild();

// Parent side: which user-mode network helper would be used ("pasta", "slirp4netns" or "").
std::string FindUserNetHelper();

// Parent side: a running user-mode network helper attached to the child's namespaces; stopped on
// destruction.
class UserNet {
 public:
  UserNet() = default;
  UserNet(UserNet&& o) noexcept : pid_(o.pid_), helper_(std::move(o.helper_)), exit_fd_(o.exit_fd_) {
    o.pid_ = -1;
    o.exit_fd_ = -1;
  }
  UserNet& operator=(UserNet&&) = delete;
  ~UserNet();
  const std::string& helper() const { return helper_; }

 private:
  friend Result<UserNet> StartUserNetFromParent(pid_t child, const NetPolicy& net);
  pid_t pid_ = -1;
  std::string helper_;
  int exit_fd_ = -1;  // closing it tells slirp4netns to exit
};

Result<UserNet> StartUserNetFromParent(pid_t child, const NetPolicy& net);

}  // namespace airlock
