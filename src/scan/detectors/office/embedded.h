// Judging embedded objects, shared by the OLE2, OOXML and RTF analyzers: packaged files (extracted as
// children under their original name), Equation Editor objects, URL/file monikers (OLE2Link,
// CVE-2017-0199 style remote templates and objects).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "scan/analyzer.h"
#include "scan/detectors/office/ole_native.h"

namespace airlock::scan::office {

// Raw (little-endian GUID layout) class ids.
extern const std::string_view kClsidEquation3;  // {0002CE02-0000-0000-C000-000000000046}
extern const std::string_view kClsidUrlMoniker; // {79EAC9E0-BAF9-11CE-8C82-00AA004BA90B}
extern const std::string_view kClsidFileMoniker;// {00000303-0000-0000-C000-000000000046}

bool ContainsBytes(std::string_view data, std::string_view needle);
// The first http(s)/ftp/file/UNC location written in UTF-16LE or ASCII inside `data`.
std::optional<std::string> FindEmbeddedUrl(std::string_view data);
// True when `name` ends in an extension Windows executes or scripts.
bool IsExecutableName(std::string_view name);

// office.ole.package finding (severity 7 for executable names, else 4) and the file as a child
// named after the package label (or the source path's leaf name).
void ReportPackage(const PackagedFile& file, std::string_view where, AnalyzerOutput& out);

// ActiveMime ("editdata.mso" in Word 2003 XML and MHT documents): a header followed by a zlib stream
// holding an OLE2 file (the VBA project). Adds that OLE file as child `child_name` and returns true.
bool ExtractActiveMime(std::string_view data, const std::string& child_name, AnalyzerOutput& out);

// Looks inside an embedded object payload (OLE2 bytes or native data) for the Equation Editor class
// and monikers, adding office.equation_editor (8, T1203) and office.ole.link (7, T1221) findings.
// `id_prefix` is "office.rtf" or "office.ole". Returns true when anything was reported.
bool ReportEquationAndMonikers(std::string_view payload, std::string_view class_name,
                               std::string_view id_prefix, std::string_view where, AnalyzerOutput& out);

}  // namespace airlock::scan::office
