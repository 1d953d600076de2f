// The static triage engine's extension interface (airlock-scan). The engine walks a tree of objects:
// every input file is an Object; analyzers look at an object, report Findings and may return child
// objects (unpacked archive members, MIME parts, VBA source, embedded files, smuggled payloads), which
// the engine triages in turn under its limits (depth, total bytes, entry count, ratio, time).
//
// Two kinds of analyzers, one interface:
//   - unpackers (src/scan/unpack/*): MIME, archives, ... produce children
//   - detectors (src/scan/detectors/*): Office, PDF, HTML/SVG, scripts, ELF ... produce findings
//     (and children where they extract something, e.g. VBA source or a smuggled blob).
// Analyzers never touch the filesystem for output and never trust sizes or names from the input:
// they go through AnalyzerOutput, which enforces the limits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::scan {

struct Finding {
  std::string id;           // stable identifier, e.g. "office.vba.autoexec", "pdf.javascript"
  int severity = 0;         // 0 (info) .. 10 (certainly malicious)
  std::string title;        // one line
  std::string explanation;  // why this matters
  std::string evidence;     // the exact thing seen (truncated by the engine)
  std::vector<std::string> techniques;  // ATT&CK IDs, e.g. {"T1559.002"}
};

struct Object {
  std::string name;        // leaf name as found in the parent (untrusted; never used as a path)
  std::string path;        // display path "mail.eml > invoice.zip > invoice.pdf.sh"
  std::string_view data;   // the bytes (owned by the engine)
  std::string mime;        // libmagic MIME type, e.g. "application/zip"
  std::string magic;       // libmagic description
  int depth = 0;
  const Object* parent = nullptr;
  // Context an analyzer may use: text of the surrounding email (bodies), for archive passwords.
  std::vector<std::string> context_text;
};

class AnalyzerOutput {
 public:
  virtual ~AnalyzerOutput() = default;
  virtual void AddFinding(Finding finding) = 0;
  // Adds a child object. Returns false when a limit was hit (the engine records a finding itself);
  // the analyzer should then stop producing children.
  virtual bool AddChild(std::string name, std::string data) = 0;
  // Remaining byte budget for children, so unpackers can stop early (bombs).
  virtual uint64_t RemainingBytes() const = 0;
  // True when the time budget for the whole scan is exhausted.
  virtual bool TimeUp() const = 0;
};

class Analyzer {
 public:
  virtual ~Analyzer() = default;
  virtual std::string_view Name() const = 0;
  // Cheap check on mime/name/leading bytes.
  virtual bool Accepts(const Object& object) const = 0;
  // Must not throw for bad input: malformed input is a finding or nothing, never a crash.
  virtual void Analyze(const Object& object, AnalyzerOutput& out) = 0;
};

// Provided by src/scan/unpack/registry.cc.
std::vector<std::unique_ptr<Analyzer>> MakeUnpackers();
// Provided by src/scan/detectors/registry.cc.
std::vector<std::unique_ptr<Analyzer>> MakeDetectors();

}  // namespace airlock::scan
