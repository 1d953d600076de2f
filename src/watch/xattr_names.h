// The extended attributes airlock writes on files it has judged or downloaded, defined once: the
// watcher (`airlock watch`) writes both after a verdict; the browser's downloads write the origin.
//
// Contract:
//  - kOriginXattr: "user.airlock.origin", UTF-8 text naming where the file came from ("https://...",
//    "mail:<message-id>", "watch:<directory>"). Its presence marks the file as downloaded: the gate
//    treats it as untrusted until judged, whatever directory it sits in.
//  - kVerdictXattr: "user.airlock.verdict", "<verdict> sha256:<hex> <unix time>", with verdict one of
//    clean | suspicious | malicious | released. Informational only: anyone who can write the file can
//    write its user.* attributes, so the gate never allows on it; the trust database (by SHA-256) is
//    the authority.
#pragma once

namespace airlock::watch {

inline constexpr const char* kOriginXattr = "user.airlock.origin";
inline constexpr const char* kVerdictXattr = "user.airlock.verdict";

}  // namespace airlock::watch
