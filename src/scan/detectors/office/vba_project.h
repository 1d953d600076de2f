// Extracts VBA module source from an OLE2 container: every storage named "VBA" that holds a `dir`
// stream (Macros/VBA in .doc, _VBA_PROJECT_CUR/VBA in .xls, VBA at the root of vbaProject.bin) is a
// project; its dir stream is decompressed and parsed, and each module stream is decompressed from
// its MODULEOFFSET.
#pragma once

#include <string>
#include <vector>

#include "scan/detectors/office/ole_file.h"

namespace airlock::scan::office {

struct VbaModule {
  std::string name;        // module name from the dir stream (untrusted)
  std::string storage;     // e.g. "Macros/VBA"
  std::string source;      // decompressed source, bytes in the project's code page
};

struct VbaExtraction {
  std::vector<VbaModule> modules;
  std::vector<std::string> problems;  // human-readable notes on what could not be read
  bool has_vba_storage = false;       // a VBA storage exists, even if unreadable
};

// Limits: at most `max_total_bytes` of source over all modules, 64 MiB per stream read.
VbaExtraction ExtractVba(const OleFile& ole, size_t max_total_bytes = 32u << 20);

}  // namespace airlock::scan::office
