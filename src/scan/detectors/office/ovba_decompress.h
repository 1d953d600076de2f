// MS-OVBA 2.4.1 decompression (the "CompressedContainer" used for the VBA `dir` stream, module
// source and the PROJECT streams). Written from the specification.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.h"

namespace airlock::scan::office {

// Decompresses a CompressedContainer (SignatureByte 0x01 then CompressedChunks).
// Contract:
//  - Output is capped at `max_output` bytes; hitting the cap returns what was produced so far
//    (decompression bombs are truncated, not rejected).
//  - A malformed chunk (bad signature, copy token reaching before the chunk start) ends decoding:
//    if nothing was decoded an Error is returned, otherwise the bytes decoded before it (malware
//    often appends junk; olevba is equally lenient).
//  - Never reads outside `container`; runs in time linear in input plus output.
Result<std::string> DecompressOvba(std::string_view container, size_t max_output = 64u << 20);

}  // namespace airlock::scan::office
