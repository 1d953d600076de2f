// Excel binary records: BIFF8 (the Workbook stream of .xls) sheet list and built-in names, for Excel
// 4.0 (XLM) macro sheets; BIFF12 (.xlsb) external link records, for DDE links.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::scan::office {

struct BiffSheet {
  std::string name;
  uint32_t offset = 0;  // stream position of the sheet's BOF record (lbPlyPos)
  int type = 0;   // BOUNDSHEET dt: 0 worksheet, 1 Excel 4.0 macro sheet, 2 chart, 6 VB module
  int state = 0;  // 0 visible, 1 hidden, 2 very hidden
};

struct BiffWorkbook {
  std::vector<BiffSheet> sheets;
  bool auto_open_name = false;  // a built-in Auto_Open (0x01) defined name
};

// What the FORMULA records of an Excel 4.0 macro sheet do: functions that run programs or native
// code (EXEC, CALL, REGISTER, found as ptgFunc/ptgFuncVar tokens) and the string constants (ptgStr)
// the formulas use. Token decoding is a tolerant byte scan of each formula's rgce.
struct XlmFormulas {
  std::vector<std::string> functions;  // distinct, e.g. "EXEC", "CALL"
  std::vector<std::string> strings;    // distinct printable ptgStr constants, at most 32
  size_t formula_count = 0;
};

// Walks BIFF8 records (u16 type, u16 length) of a Workbook stream; at most 100000 records.
BiffWorkbook ParseBiff8Workbook(std::string_view stream);

// Scans the substream of the sheet whose BOF is at `offset` up to its EOF (at most 100000 records).
XlmFormulas ScanXlmSheet(std::string_view stream, uint32_t offset);

// DDE links of an .xlsb externalLink part (BrtSupBook with sbt = DDE): "service|'topic'" each.
std::vector<std::string> ParseBiff12DdeLinks(std::string_view part);

}  // namespace airlock::scan::office
