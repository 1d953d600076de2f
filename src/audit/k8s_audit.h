// Grades Kubernetes workloads against the Pod Security Standards "restricted" profile plus host
// exposure checks: Pod, and the pod templates of Deployment, ReplicaSet, StatefulSet, DaemonSet,
// Job, CronJob, ReplicationController (also inside a `kind: List`). Multi-document files give one
// report per workload, named "FILE#DOC Kind/name". Documents of other kinds are skipped.
// Evidence names the manifest path and line: `spec.containers[0].securityContext.privileged = true
// (pod.yaml:12)`. Input is untrusted: size-limited, parse errors are values, never crashes.
#pragma once

#include <string>
#include <vector>

#include "audit/finding.h"
#include "core/error.h"

namespace airlock::audit {

// Parses YAML `text` (label names it in reports and errors) and grades every workload in it.
// Errors: bad YAML ("LABEL:LINE:COL: message"), or no workload at all in the file.
Result<std::vector<TargetReport>> AuditManifestText(const std::string& text, const std::string& label);

// Reads `path` (regular file, at most 8 MiB) and calls AuditManifestText.
Result<std::vector<TargetReport>> AuditManifestFile(const std::string& path);

// True when `path` names a Kubernetes manifest: a .yaml/.yml/.json name, or (for other names) a
// readable file whose text has top-level `apiVersion:` and `kind:` keys.
bool LooksLikeManifest(const std::string& path);

}  // namespace airlock::audit
