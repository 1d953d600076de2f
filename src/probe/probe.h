// Probe, then decide: what this kernel and host offer, detected once (forked children try the real
// thing where reading a sysctl is not enough). Used by `airlock check`.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace airlock {

struct ProbeItem {
  std::string name;
  bool ok = false;
  std::string detail;
  bool needed_by_default = false;  // the default profile cannot be enforced without it
};

std::vector<ProbeItem> ProbeHost();

// The overlay drivers of boxes (docs/BOXES.md), for `airlock check` and `airlock box create`.
// Whether this user can mount the kernel's overlayfs in a user namespace: a forked child mounts a real
// one (userxattr) over temporary directories in /tmp, as a box run would.
bool KernelOverlayInUserNamespaces();
// What keeps fuse-overlayfs from mounting this user's boxes, with the fix ("" = usable): the program
// (Debian's fuse-overlayfs) and /dev/fuse, which the sandbox user opens (a root caller's sandbox runs as
// an unprivileged host uid, so it needs mode 0666 then).
std::string FuseOverlayProblem();
nlohmann::json ProbeToJson(const std::vector<ProbeItem>& items);

}  // namespace airlock
