// libFuzzer target: MS-OVBA decompression and the dir-stream parser on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scan/detectors/office/ovba_decompress.h"
#include "scan/detectors/office/vba_dir.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto out = airlock::scan::office::DecompressOvba(in, 1u << 20);
  if (out) (void)airlock::scan::office::ParseVbaDir(*out);
  (void)airlock::scan::office::ParseVbaDir(in);
  return 0;
}
