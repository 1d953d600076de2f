// strip: rewriting a message so that its bad attachments are replaced by a short text part
// (contract: docs/MAIL.md "strip"). Runs inside the sandboxed scan worker, never in the daemon,
// because it parses the untrusted MIME tree.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/error.h"

namespace airlock::milter {

struct Removal {
  std::string verdict;                  // "malicious" | "suspicious"
  double score = 0;
  std::vector<std::string> techniques;
};

// The text of the replacement part for attachment `name`.
std::string RemovalNotice(const std::string& name, const Removal& why);

struct StripResult {
  std::string message;                  // the rewritten message (headers + body)
  std::vector<std::string> removed;     // names of the replaced attachments
};

// Replaces every leaf MIME part (and attached message/rfc822 part) whose decoded content's SHA-256
// is a key of `remove` with a text/plain part named "<name>.removed.txt"; everything else is written
// back as parsed (unchanged parts keep their encoded bytes). Keeps CRLF line ends when the input has
// them. Errors when the message does not parse as MIME.
Result<StripResult> StripMessage(const std::string& message, const std::map<std::string, Removal>& remove);

}  // namespace airlock::milter
