// Built-in typing for formats with unambiguous leading bytes, in front of libmagic (file_type.cc).
// libmagic costs 0.3-1.2 ms per object (two passes); these answers cost microseconds. Each one gives
// exactly libmagic's (file 5.44) MIME type and description, and says nullopt whenever anything could
// make libmagic answer differently (another rule matching at another offset, a field it would print
// that is not modelled here), so the caller asks libmagic. Names and declared types are never used.
// tests/scan/engine/magic_numbers_test.cc checks every answer against libmagic.
//
// Covered: ZIP archives whose first entry is a plain file name (not an OOXML/ODF/JAR/APK... marker),
// OOXML documents (Word, Excel, PowerPoint 2007+) laid out as libmagic expects, gzip with no optional header fields, XML 1.0 whose root element is an OOXML part, HTML that starts
// with <html> or <!DOCTYPE html>.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace airlock::scan {

struct KnownType {
  std::string mime;
  std::string description;
};

std::optional<KnownType> TypeByMagicNumbers(std::string_view data);

}  // namespace airlock::scan
