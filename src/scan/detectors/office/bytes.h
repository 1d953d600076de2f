// Small helpers shared by the Office detectors: bounds-checked little-endian reads, text conversion,
// case-insensitive search. Nothing here allocates more than its input's size.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace airlock::scan::office {

// Appends code point cp encoded as UTF-8 (no validation: callers substitute invalid values).
void AppendUtf8(std::string& out, uint32_t cp);

// Little-endian reads; nullopt when [pos, pos+N) is outside `data`.
std::optional<uint16_t> ReadLe16(std::string_view data, size_t pos);
std::optional<uint32_t> ReadLe32(std::string_view data, size_t pos);

// UTF-16LE -> UTF-8 (unpaired surrogates become U+FFFD; an odd trailing byte is dropped).
std::string Utf16LeToUtf8(std::string_view data);
// Bytes in a single-byte code page -> UTF-8, treating them as Latin-1 (code-page exact conversion
// is not needed for detection; ASCII is preserved exactly).
std::string Latin1ToUtf8(std::string_view data);

std::string ToLowerAscii(std::string_view s);
// Case-insensitive (ASCII) search; returns npos when absent.
size_t FindIcase(std::string_view haystack, std::string_view needle, size_t from = 0);
bool ContainsIcase(std::string_view haystack, std::string_view needle);
bool StartsWithIcase(std::string_view s, std::string_view prefix);
bool EndsWithIcase(std::string_view s, std::string_view suffix);

// Trims ASCII whitespace at both ends.
std::string_view Trim(std::string_view s);
// Collapses runs of whitespace into one space and trims; for readable evidence.
std::string CollapseSpaces(std::string_view s);

// The leaf name of an object path such as "word/_rels/settings.xml.rels" -> "settings.xml.rels".
std::string_view BaseName(std::string_view path);

}  // namespace airlock::scan::office
