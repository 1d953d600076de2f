// Dynamic Data Exchange (DDE) in every Office flavour: Word field codes (DDE / DDEAUTO), DDE
// formulas in spreadsheets and CSV ("=cmd|' /C calc'!A0"), and the field-code scan of a legacy Word
// binary stream.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scan/analyzer.h"

namespace airlock::scan::office {

// If `field_code` (the instruction text of one field, e.g. " DDEAUTO c:\\windows\\cmd.exe \"/k calc\" ")
// is a DDE or DDEAUTO field, returns it with whitespace collapsed.
std::optional<std::string> DdeFieldCommand(std::string_view field_code);

// Field codes of DDE fields found in a Word binary (WordDocument) stream: text after a 0x13
// field-begin mark, up to the 0x14 separator or 0x15 end, in 8-bit or UTF-16LE text. At most 64.
std::vector<std::string> FindDdeFieldsInWordBinary(std::string_view stream);

// If `text` (a cell, a formula attribute, a CSV line) holds a DDE formula "app|'topic'!item",
// returns the formula as evidence.
std::optional<std::string> DdeFormula(std::string_view text);

// Findings: office.dde for a field (DDEAUTO 8, DDE 6), office.dde.formula for a formula (7 when the
// service is a command interpreter, else 5). T1559.002.
Finding DdeFieldFinding(std::string_view command, std::string_view where);
Finding DdeFormulaFinding(std::string_view formula, std::string_view where);

}  // namespace airlock::scan::office
