// Keyword analysis of macro source (VBA, and StarBasic from ODF), in the spirit of olevba/mraptor:
// auto-exec triggers (A), file writes (W), execution (X), downloads, obfuscation and IOCs. mraptor's
// rule "A and (W or X)" marks a macro whose opening runs a payload.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scan/analyzer.h"

namespace airlock::scan::office {

struct MacroTraits {
  std::vector<std::string> autoexec;     // trigger names found, e.g. "Document_Open"
  std::vector<std::string> write;        // e.g. "Open ... For Output", "SaveToFile"
  std::vector<std::string> execute;      // e.g. "Shell", "WScript.Shell", "Lib \"kernel32\""
  std::vector<std::string> download;     // e.g. "URLDownloadToFile", "XMLHTTP"
  std::vector<std::string> obfuscation;  // e.g. "Chr(", "StrReverse", "Base64"
  std::vector<std::string> iocs;         // URLs, IPv4 addresses, executable file names
  bool uses_powershell = false;
  bool uses_native_api = false;
};

// Scans source text (comment lines are ignored). Keyword matching is case-insensitive and respects
// identifier boundaries. Each list holds distinct items, at most 32.
MacroTraits ScanMacroSource(std::string_view source);

// Findings for a macro project. `kind` is "vba" or "odf" (used in ids: office.vba.*, office.odf.*),
// `modules` names the modules for the evidence of the presence finding.
std::vector<Finding> MacroFindings(std::string_view kind, const MacroTraits& traits,
                                   const std::vector<std::string>& modules);

// Joins up to `max` items with ", ".
std::string JoinList(const std::vector<std::string>& items, size_t max = 16);

}  // namespace airlock::scan::office
