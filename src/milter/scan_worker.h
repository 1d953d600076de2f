// `airlock-milter --scan-worker`: the long-lived static-triage worker. The daemon starts it inside an
// `airlock run` sandbox (default profile: no network, read-only system, seccomp, Landlock, no
// capabilities) with only its own binary and the rules bound read-only, and talks to it with frames
// (frame.h) on stdin/stdout. YARA rules are compiled once at start; then, per request:
//   {"op":"scan","name":N} + message bytes  -> {"ok":true,"report":<docs/REPORT.md JSON>,
//                                              "extracted":[{"name","sha256","kind","offset","length"}]}
//        (with "extract_kinds":[...]: the top-level attachments whose detonation runner kind is listed
//         are returned in the payload, for `airlock analyze`)
//   {"op":"strip","remove":{SHA256:{"verdict","score","techniques"}}} + message
//                                           -> {"ok":true,"removed":[names]} + rewritten message
// The first frame it writes is {"ready":true,...}. It exits on EOF.
#pragma once

namespace airlock::milter {

int RunScanWorker(int max_seconds);

}  // namespace airlock::milter
