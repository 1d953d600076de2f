// Parser for the decompressed VBA `dir` stream (MS-OVBA 2.3.4.2): the project's code page and, for
// each module, its name, the name of its stream in the VBA storage and the offset of the compressed
// source inside that stream.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace airlock::scan::office {

struct VbaModuleInfo {
  std::string name;         // UTF-8 (from MODULENAMEUNICODE when present, else MODULENAME)
  std::string stream_name;  // UTF-8 (from the Unicode record when present)
  uint32_t text_offset = 0; // MODULEOFFSET: where the CompressedContainer starts in the stream
  bool offset_seen = false;
};

struct VbaDirInfo {
  uint16_t code_page = 1252;
  std::string project_name;
  std::vector<VbaModuleInfo> modules;
};

// Parses a decompressed dir stream. Records are walked generically (Id u16, Size u32, Data), with
// the one irregular record PROJECTVERSION (0x0009) handled specially, so unknown or reordered records
// do not derail parsing. At most `max_modules` modules are returned. Fails only when no record at
// all could be read; a truncated tail keeps the modules completed so far.
Result<VbaDirInfo> ParseVbaDir(std::string_view dir, size_t max_modules = 4096);

}  // namespace airlock::scan::office
