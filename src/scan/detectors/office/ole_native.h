// Embedded-object formats: the OLE1 ObjectHeader/EmbeddedObject (MS-OLEDS 2.2) found in RTF \objdata,
// and the "Package" native data (the Ole10Native stream of a packaged file: label, original path,
// temporary path, then the file bytes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace airlock::scan::office {

struct Ole1Object {
  uint32_t format_id = 0;   // 1 linked, 2 embedded
  std::string class_name;   // e.g. "Package", "Equation.3", "Word.Document.8", "OLE2Link"
  std::string topic;        // for linked objects: the link source
  std::string item;
  std::string_view native;  // NativeData of an embedded object (view into the input)
};

// Parses an OLE1 object. Tolerates a truncated NativeData (returns what is present).
std::optional<Ole1Object> ParseOle1(std::string_view data);

struct PackagedFile {
  std::string label;        // display name / file name
  std::string source_path;  // original path on the author's machine
  std::string temp_path;
  std::string_view content;  // view into the input
};

// Parses Package native data. `size_prefixed` is true for an Ole10Native stream (starts with a u32
// total size) and false for the NativeData of an OLE1 Package object; the other layout is tried
// when the preferred one does not parse.
std::optional<PackagedFile> ParsePackage(std::string_view data, bool size_prefixed);

}  // namespace airlock::scan::office
