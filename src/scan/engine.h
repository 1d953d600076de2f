// The triage engine: types, hashes and analyzes one input and every object unpacked from it,
// depth-first, under ScanLimits. One Engine per thread (analyzers keep per-call state); the YARA
// rules, block-list and extractor it points to are shared and must outlive it.
//
// Per object, in order: libmagic type, hashes, block-list, YARA, then every unpacker and detector whose
// Accepts() is true. Children are triaged after their parent's analyzers ran; they inherit the parent's
// context_text plus the text of their text siblings (mail bodies), which archive unpackers use for
// passwords. A limit hit is a finding on the object where it happened, recorded once per object and
// limit, and listed in InputReport::limits_hit; it never aborts the scan of other objects.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "scan/analyzer.h"
#include "scan/blocklist.h"
#include "scan/extract.h"
#include "scan/limits.h"
#include "scan/report.h"
#include "scan/yara_rules.h"

namespace airlock::scan {

struct EngineOptions {
  ScanLimits limits;
  const YaraRules* yara = nullptr;        // optional
  const Blocklist* blocklist = nullptr;   // optional
  Extractor* extractor = nullptr;         // optional (--extract)
};

class Engine {
 public:
  // Uses MakeUnpackers() + MakeDetectors().
  explicit Engine(EngineOptions options);
  // Uses exactly `analyzers` (tests).
  Engine(EngineOptions options, std::vector<std::unique_ptr<Analyzer>> analyzers);

  // Scans bytes already in memory; `name` is the display name of the root object.
  InputReport ScanBytes(const std::string& name, std::string data);
  // Reads a regular file or "-" (stdin), truncated at limits.max_object_bytes (a limit finding).
  InputReport ScanFile(const std::string& path);
  // The same for an input already open (`path` is its display name; the descriptor stays the caller's).
  InputReport ScanOpened(const std::string& path, int fd);

 private:
  struct InputState;
  class Collector;
  void Triage(InputState& st, ObjectReport& node, std::string data, int depth, const Object* parent,
              std::vector<std::string> context, const std::string* known_mime, const std::string* known_magic);

  EngineOptions options_;
  std::vector<std::unique_ptr<Analyzer>> analyzers_;
};

// The report of an input that could not be read: not ok, `error` says why (its verdict is "error").
InputReport FailedInput(const std::string& path, const std::string& error);

// Recomputes every node's assessment bottom-up and the scan's overall assessment.
void AssessTree(ObjectReport& node);
void AssessScan(ScanReport& report);

}  // namespace airlock::scan
