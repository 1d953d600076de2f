// A tolerant RTF reader for triage: it does not render, it only collects what matters for detection:
// field instructions (\fldinst, for DDE) and embedded objects (\object with \objclass and \objdata,
// \objupdate). Malicious RTFs abuse parser leniency (junk between hex digits, deep nesting, unclosed
// groups, \bin blobs), so:
//  - hex in \objdata is decoded from hex digits only; anything else (spaces, junk chars, control
//    words) is skipped, and an odd trailing digit is dropped;
//  - nesting deeper than kMaxRtfDepth is still brace-matched but tracked by a counter only;
//  - \binN takes N raw bytes (bounded by the input);
//  - everything is linear in the input size; output is bounded by the input size.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::scan::office {

inline constexpr size_t kMaxRtfDepth = 512;

struct RtfObject {
  std::string class_name;  // from \objclass (may be empty)
  std::string data;        // decoded \objdata bytes (an OLE1 object, normally)
  bool objupdate = false;  // \objupdate: the object is refreshed (activated) on open
  bool linked = false;     // \objautlink / \objlink
};

struct RtfDocument {
  std::vector<std::string> field_instructions;  // text of each \fldinst
  std::vector<RtfObject> objects;
  size_t max_depth = 0;
  bool depth_exceeded = false;
};

// True when `data` starts like RTF ("{\rt"; Word accepts this abbreviated header).
bool LooksLikeRtf(std::string_view data);

RtfDocument ParseRtf(std::string_view data);

}  // namespace airlock::scan::office
