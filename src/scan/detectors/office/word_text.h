// The main text of a Word 97-2003 binary document (MS-DOC), read through the piece table: FIB ->
// fcClx/lcbClx in the table stream (0Table or 1Table per fWhichTblStm) -> Clx -> PlcPcd -> pieces of
// 8-bit (fCompressed, code page 1252 read as Latin-1) or UTF-16LE text in the WordDocument stream.
// Field marks 0x13 (begin), 0x14 (separate), 0x15 (end) are kept in the text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::scan::office {

// Returns the text as UTF-8, or nullopt when the FIB or piece table is unusable (not Word, encrypted,
// out-of-range offsets). At most `max_chars` characters are produced.
std::optional<std::string> ReadWordText(std::string_view word_document, std::string_view table_stream0,
                                        std::string_view table_stream1, size_t max_chars = 32u << 20);

// Which table stream a WordDocument's FIB points at: "1Table" or "0Table" (nullopt when no FIB).
std::optional<std::string> WordTableStreamName(std::string_view word_document);

// Field instructions of `text` (UTF-8 with field marks), with nesting: a nested field's result text
// (between its 0x14 and 0x15) becomes part of the enclosing field's instruction, as Word evaluates
// it, which undoes "DDEAUTO built from QUOTE fields" tricks when the results are cached. At most 4096.
std::vector<std::string> FieldInstructions(std::string_view text);

}  // namespace airlock::scan::office
