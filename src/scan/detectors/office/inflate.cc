#include "scan/detectors/office/inflate.h"

#include <zlib.h>

namespace airlock::scan::office {

Result<std::string> InflateZlib(std::string_view data, size_t max_output) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return MakeError("zlib: init failed");
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(std::min<size_t>(data.size(), 0x7FFFFFFF));
  int rc = Z_OK;
  char buf[16384];
  while (rc == Z_OK && out.size() < max_output) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = sizeof(buf) - zs.avail_out;
    out.append(buf, std::min(produced, max_output - out.size()));
    if (produced == 0 && rc == Z_OK) break;  // no progress: truncated input
  }
  inflateEnd(&zs);
  if (out.empty() && rc != Z_STREAM_END) return MakeError("zlib: corrupt stream");
  return out;
}

}  // namespace airlock::scan::office
