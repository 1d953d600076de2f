#include "scan/detectors/office/ovba_decompress.h"

#include <cstdint>

namespace airlock::scan::office {
namespace {

constexpr size_t kChunkSize = 4096;

// MS-OVBA 2.4.1.3.19.1 CopyToken Help: bit split depends on how far into the chunk we are.
struct CopyTokenParts {
  size_t offset;
  size_t length;
};

CopyTokenParts UnpackCopyToken(uint16_t token, size_t difference) {
  unsigned bit_count = 4;
  while (bit_count < 12 && (size_t{1} << bit_count) < difference) ++bit_count;
  const uint16_t length_mask = static_cast<uint16_t>(0xFFFFu >> bit_count);
  const uint16_t offset_mask = static_cast<uint16_t>(~length_mask);
  return {static_cast<size_t>(((token & offset_mask) >> (16 - bit_count)) + 1),
          static_cast<size_t>((token & length_mask) + 3)};
}

}  // namespace

Result<std::string> DecompressOvba(std::string_view in, size_t max_output) {
  if (in.empty() || static_cast<unsigned char>(in[0]) != 0x01) {
    return MakeError("ovba: missing compressed container signature 0x01");
  }
  std::string out;
  size_t pos = 1;
  bool malformed = false;
  while (pos + 2 <= in.size() && out.size() < max_output && !malformed) {
    const uint16_t header = static_cast<uint16_t>(static_cast<unsigned char>(in[pos]) |
                                                  (static_cast<unsigned char>(in[pos + 1]) << 8));
    const size_t chunk_size = (header & 0x0FFF) + 3;  // includes the 2-byte header
    const bool compressed = (header & 0x8000) != 0;
    if (((header >> 12) & 0x7) != 0x3) {
      malformed = true;
      break;
    }
    const size_t data_begin = pos + 2;
    const size_t chunk_end = std::min(in.size(), pos + chunk_size);
    const size_t chunk_start_out = out.size();
    if (!compressed) {
      // Raw chunk: 4096 literal bytes (tolerate a short final chunk).
      size_t n = std::min(chunk_end - data_begin, kChunkSize);
      n = std::min(n, max_output - out.size());
      out.append(in.substr(data_begin, n));
      pos = chunk_end;
      continue;
    }
    size_t p = data_begin;
    while (p < chunk_end && !malformed && out.size() < max_output) {
      const unsigned char flags = static_cast<unsigned char>(in[p++]);
      for (int bit = 0; bit < 8 && p < chunk_end; ++bit) {
        if (out.size() >= max_output) break;
        if ((flags & (1u << bit)) == 0) {
          out.push_back(in[p++]);
          continue;
        }
        if (p + 2 > chunk_end) {
          malformed = true;
          break;
        }
        const uint16_t token = static_cast<uint16_t>(static_cast<unsigned char>(in[p]) |
                                                     (static_cast<unsigned char>(in[p + 1]) << 8));
        p += 2;
        const size_t difference = out.size() - chunk_start_out;
        const CopyTokenParts parts = UnpackCopyToken(token, difference);
        if (difference == 0 || parts.offset > difference) {
          malformed = true;
          break;
        }
        size_t src = out.size() - parts.offset;
        size_t n = std::min(parts.length, max_output - out.size());
        for (size_t i = 0; i < n; ++i) {  // overlapping copy, byte-wise
          const char c = out[src + i];
          out.push_back(c);
        }
      }
    }
    pos = chunk_end;
  }
  if (out.empty() && malformed) return MakeError("ovba: malformed first chunk");
  return out;
}

}  // namespace airlock::scan::office
