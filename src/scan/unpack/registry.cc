// The engine's unpackers, in the order they run on an object.
#include "scan/analyzer.h"
#include "scan/unpack/archive_unpacker.h"
#include "scan/unpack/mbox_unpacker.h"
#include "scan/unpack/mime_unpacker.h"
#include "scan/unpack/office_decrypt_unpacker.h"
#include "scan/unpack/tnef_unpacker.h"
#include "scan/unpack/uuencode_unpacker.h"

namespace airlock::scan {

std::vector<std::unique_ptr<Analyzer>> MakeUnpackers() {
  std::vector<std::unique_ptr<Analyzer>> all;
  all.push_back(std::make_unique<MboxUnpacker>());
  all.push_back(std::make_unique<MimeUnpacker>());
  all.push_back(std::make_unique<UuencodeUnpacker>());
  all.push_back(std::make_unique<TnefUnpacker>());
  all.push_back(std::make_unique<ArchiveUnpacker>());
  all.push_back(std::make_unique<OfficeDecryptUnpacker>());
  return all;
}

}  // namespace airlock::scan
