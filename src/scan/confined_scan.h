// `airlock scan` without --no-sandbox (docs/SCAN.md "Where the parsing runs"): the caller's process
// parses nothing. It checks the options, compiles the YARA rules (trusted input) and expands the inputs
// on the host, then runs `airlock-scan --in-sandbox` inside `airlock run`'s default profile and hands it
// each input as an open descriptor (scan/input_broker.h). Untrusted parsers run with least privilege:
// as root too, the parsing runs as an unprivileged host uid with nothing of the host file system
// but what is listed below.
//
// Contract:
//  - The sandbox sees airlock-scan's directory read-only at /opt/airlock-scan; a private directory
//    (0700, its files 0600, owned by the sandbox's host uid) with the compiled rules and the
//    block-list read-only at /opt/airlock-rules; with --extract that directory read-write at /out;
//    with --navigator a private directory read-write at /nav (the layer is copied out of it once the
//    scanner is done, if it is JSON); of the inputs only the descriptors it is handed. The default profile's walls: no network,
//    seccomp, Landlock, no capabilities, pids bounded; memory 2 GiB, more when -j and the size limits
//    ask for it.
//  - Report and exit status are the sandboxed scanner's (0 clean, 1 malicious, 2 error, 3
//    suspicious; its report says "sandboxed": true). A sandbox that cannot start or dies otherwise
//    (any other status) fails the scan with exit 2 and a message saying what to do; it never falls
//    back to parsing here (--no-sandbox does that, and the report says so).
//  - Ctrl-C ends the sandbox at once (--on-interrupt kill); a caller killed otherwise takes it along
//    (PR_SET_PDEATHSIG). The private directory is removed on every return.
#pragma once

#include <string>

#include "scan/scanner.h"

namespace airlock::scan {

struct ConfinedScanFlags {
  bool json = false;   // --json
  bool quiet = false;  // -q
  std::string navigator;  // --navigator FILE: the sandbox writes the layer into a private directory
                          // bound at /nav; the host copies it to FILE
};

// The scan of `options` as above; returns the exit status.
int RunConfinedScan(const ScanOptions& options, const ConfinedScanFlags& flags);

}  // namespace airlock::scan
