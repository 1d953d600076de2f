// The Office detector family (library airlock_scan_office). Each analyzer judges one kind of object
// and is stateless, so the engine may call them from several threads at once.
//   OleAnalyzer      OLE2/CFB files: .doc/.xls/.ppt, vbaProject.bin, oleObject*.bin, Ole10Native
//   XmlAnalyzer      XML parts: OOXML members, Word/Excel 2003 XML, flat OPC, ODF content and Basic/
//   RtfAnalyzer      RTF: DDE fields, embedded objects (\objdata), Equation Editor, OLE2Link
//   SheetTextAnalyzer CSV and SYLK: DDE formulas and XLM formulas
//   OoxmlBinaryAnalyzer binary OOXML members: .xlsb external links, XLM macro sheets, ActiveX;
//                    ActiveMime (editdata.mso) blobs -> their OLE2 VBA project as a child
// Findings use ids "office.*" and severities 0..10; see docs/OFFICE.md for the full list.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "scan/analyzer.h"

namespace airlock::scan::office {

std::unique_ptr<Analyzer> MakeOleAnalyzer();
std::unique_ptr<Analyzer> MakeXmlAnalyzer();
std::unique_ptr<Analyzer> MakeRtfAnalyzer();
std::unique_ptr<Analyzer> MakeSheetTextAnalyzer();
std::unique_ptr<Analyzer> MakeOoxmlBinaryAnalyzer();

// Display location for titles: the object's path, else its name.
std::string Where(const Object& object);
// True when the object's name, or the last element of its display path, contains `fragment`
// (ASCII case-insensitive). For container members the name is the member path, e.g.
// "word/_rels/settings.xml.rels".
bool NameHas(const Object& object, std::string_view fragment);

}  // namespace airlock::scan::office

namespace airlock::scan {
// All Office analyzers (joined with the other families by src/scan/detectors/registry.cc).
std::vector<std::unique_ptr<Analyzer>> MakeOfficeDetectors();
}  // namespace airlock::scan
