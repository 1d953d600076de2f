// The content detector family (static library airlock_scan_content). Each factory returns one
// Analyzer; MakeContentDetectors() (content_registry.cc) returns them all for the engine, and tests
// call the factories one by one. Finding ids, severities and ATT&CK IDs are listed in
// docs/DETECTORS.md.
//
// Contracts shared by all of them: Analyze() never throws and never touches the filesystem; work is
// bounded by the input size and by caps documented in each .cc; children go through
// AnalyzerOutput::AddChild and stop when it returns false. Analyzers keep no state between calls
// except compiled regexes, so one instance may be used from one thread at a time.
#pragma once

#include <memory>

#include "scan/analyzer.h"

namespace airlock::scan {

// Names and types: executables/scripts reaching a user by mail, type/extension mismatch, double
// extensions, bidi/zero-width characters in names, disk images and shortcuts as carriers.
std::unique_ptr<Analyzer> MakeNameTypeDetector();
// PDF through qpdf: JavaScript (extracted as child "script.js"), auto actions, Launch, embedded files
// (extracted as children), URIs, SubmitForm, GoToR, RichMedia, XFA, malformed files.
std::unique_ptr<Analyzer> MakePdfDetector();
// HTML and SVG smuggling, data: URIs with executables/archives, SVG active content.
std::unique_ptr<Analyzer> MakeSmugglingDetector();
// Shell/Python/Perl/PowerShell/JS/VBS/batch scripts: download-and-run, decode-and-run, reverse
// shells, persistence writes, and JavaScript exploit heuristics.
std::unique_ptr<Analyzer> MakeScriptDetector();
// ELF: packers (UPX, high entropy), stripped static ELF in mail, interpreter oddities.
std::unique_ptr<Analyzer> MakeElfDetector();

std::vector<std::unique_ptr<Analyzer>> MakeContentDetectors();

}  // namespace airlock::scan
