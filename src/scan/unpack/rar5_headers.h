// A bounded walk over RAR 5 block headers that finds what is encrypted, because libarchive 3.6's RAR 5
// reader skips the file encryption record and hands out the ciphertext as the member's data. Reads
// headers only (never data), follows the published RAR 5.0 layout (vint sizes, header type and
// flags, extra area records), does not check header CRCs, and stops at the end-of-archive header,
// at the first inconsistent size, or after `max_blocks` headers. RAR 1.5-4.x archives (whose
// encryption libarchive does report) and RAR 5 SFX archives are not walked: the result is empty.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::scan {

inline constexpr std::string_view kRar5Signature{"Rar!\x1a\x07\x01\x00", 8};

struct Rar5Encryption {
  bool headers = false;                 // an archive encryption header: nothing is readable without the password
  std::vector<std::string> members;     // names of file headers carrying a file encryption record
};

Rar5Encryption FindRar5Encryption(std::string_view data, size_t max_blocks = 100000);

}  // namespace airlock::scan
