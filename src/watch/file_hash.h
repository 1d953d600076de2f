// Content hashes of an open file, read with pread from offset 0 (the descriptor's offset is left
// alone): SHA-256 (airlock's identity of a content: trust database, verdicts, allow-list) and MD5
// (only to check a file against dpkg's md5sums). Streams in 64 KiB blocks: memory is bounded whatever
// the size. Lower-case hex. An error when the file cannot be read (EIO, a file truncated under us is
// read to its new end: the hash is of what was read, and the caller re-checks the ctime).
#pragma once

#include <string>

#include "core/error.h"

namespace airlock::watch {

Result<std::string> Sha256OfFd(int fd);
Result<std::string> Md5OfFd(int fd);
// Of a byte string (tests, small inputs).
std::string Sha256OfBytes(const std::string& bytes);

}  // namespace airlock::watch
