// Classification of host paths exposed to a sandbox or pod (profile binds, Kubernetes hostPath).
#pragma once

#include <optional>
#include <string>

#include "audit/finding.h"

namespace airlock::audit {

struct PathRisk {
  Severity severity;
  std::string technique;  // ATT&CK id
  std::string why;        // short reason, e.g. "the container runtime socket"
};

// Risk of exposing host `path` writable (or, for sockets, at all). Critical for "/", /etc, /root,
// /home, /proc, /sys, /dev, /boot, runtime sockets (docker, containerd, cri-o) and kubelet state,
// for anything below them and for their ancestors (which contain them). Other paths: medium.
PathRisk WritableHostPathRisk(const std::string& path);

// Risk of exposing host `path` read-only; nullopt when harmless (e.g. /usr, /etc/ssl). Runtime
// sockets stay critical (connect() ignores read-only mounts); "/", /root, /home, /etc as a whole,
// /proc, /sys, credential files are high (T1552.001).
std::optional<PathRisk> ReadOnlyHostPathRisk(const std::string& path);

// Lexically normalised absolute path without trailing slash ("" stays "").
std::string NormalizeHostPath(const std::string& path);

}  // namespace airlock::audit
