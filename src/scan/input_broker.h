// The scan's input broker (docs/SCAN.md "Where the parsing runs"): `airlock scan` parses nothing in
// the caller's process. It opens the inputs there (with the caller's rights, which the sandbox does not
// have) and hands each one, as an open read-only descriptor, to the airlock-scan that parses it inside
// `airlock run`'s default sandbox (scan/confined_scan.h).
//
// Contract:
//  - One SOCK_SEQPACKET socketpair, one message each way per request. Request {magic, op, index}: op
//    kCount (how many inputs) or kOpen (input `index`). Reply {value, name length, error length},
//    the name, the error text, and for an opened input one descriptor (SCM_RIGHTS). kCount: value is
//    the count. kOpen: the name is the input's display name (its host path, "-" for stdin), and either
//    a descriptor (OpenInputFile: a regular file, read-only) or the error the report shows for it.
//  - ServeInputs (host) trusts nothing from the sandbox: an index only selects from the list the host
//    expanded itself, never a path; a malformed request, an unknown op or an index out of range ends the
//    service with an error (the socket shut down: a waiting request sees EOF). It serves until the
//    sandbox closes its end (every sandbox process gone).
//  - InputClient (sandbox) serializes its requests (a mutex): the -j threads share one socket. Names
//    and errors longer than kMaxBrokerText bytes are cut there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::scan {

inline constexpr size_t kMaxBrokerText = 8192;

// Serves `inputs` (ExpandInputs' list) on `sock` until EOF; an error when the peer misbehaved.
Status ServeInputs(int sock, const std::vector<std::string>& inputs);

struct BrokeredInput {
  std::string name;   // the display name
  UniqueFd fd;        // open, or
  std::string error;  // why it could not be opened
};

class InputClient {
 public:
  explicit InputClient(int sock) : sock_(sock) {}
  Result<size_t> Count();
  Result<BrokeredInput> Open(size_t index);

 private:
  Result<BrokeredInput> Ask(uint32_t op, uint64_t index, uint64_t* value);
  int sock_;
  std::mutex mu_;
};

}  // namespace airlock::scan
