// Archives and compressed streams with libarchive: zip (incl. OOXML/ODF/JAR containers), 7z, rar, tar,
// cpio, iso9660, cab, ar, and gzip/bzip2/xz/lzma/zstd/compress streams (a raw compressed stream
// becomes one child). Entries are read in chunks under the engine's limits: per-object and total byte
// budgets and a per-entry compression ratio (checked once an entry's output passes the floor).
//
// Findings: archive.encrypted (T1027.013), archive.password (member opened with a password, which the
// finding names), archive.setuid (T1548.001), archive.path_traversal (absolute or ".." member paths),
// archive.link (symlink/hardlink members; never followed, never extracted), archive.corrupt.
#pragma once

#include <string>
#include <string_view>

#include "scan/analyzer.h"

namespace airlock::scan {

class ArchiveUnpacker final : public Analyzer {
 public:
  std::string_view Name() const override { return "archive"; }
  bool Accepts(const Object& object) const override;
  void Analyze(const Object& object, AnalyzerOutput& out) override;
};

// True for MIME types the unpacker opens (exposed for tests).
bool IsArchiveMime(std::string_view mime);
// True when an entry path is absolute or has a ".." component (either separator).
bool IsUnsafeMemberPath(std::string_view path);

}  // namespace airlock::scan
