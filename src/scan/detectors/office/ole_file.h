// Read-only view of an OLE2 / Compound File Binary container through libgsf (GsfInfileMSOle), opened
// over bytes in memory (no copy, no filesystem). Lists every storage and stream and reads streams
// with a size cap.
//
// Thread-safety: an OleFile is used by one thread; distinct OleFiles may be used concurrently.
// Ownership: the OleFile borrows `data`, which must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace airlock::scan::office {

// True when `data` starts with the CFB signature D0 CF 11 E0 A1 B1 1A E1.
bool LooksLikeOle(std::string_view data);

struct OleEntry {
  std::string path;  // "Macros/VBA/dir" (names in UTF-8 as libgsf decodes them)
  bool is_storage = false;
  uint64_t size = 0;  // stream size (0 for storages)
};

class OleFile {
 public:
  // Opens the container. Fails on non-OLE or unreadable headers. Lists at most `max_entries`
  // entries and recurses at most 32 storages deep.
  static Result<OleFile> Open(std::string_view data, size_t max_entries = 10000);
  static constexpr uint64_t kReadBudget = 256u << 20;

  OleFile(OleFile&&) noexcept;
  OleFile& operator=(OleFile&&) noexcept;
  ~OleFile();

  const std::vector<OleEntry>& entries() const { return entries_; }
  // Reads the whole stream at `path` ("/"-separated, exact names), failing when it is absent, a
  // storage, or larger than `max_bytes`, or when the file's total read budget (kReadBudget, shared by
  // all reads of this OleFile) is spent: crafted sector chains can make many streams alias the same
  // data, so the sum of reads is bounded, not just each one.
  Result<std::string> ReadStream(std::string_view path, uint64_t max_bytes = 64u << 20) const;
  bool HasStream(std::string_view path) const;
  // The root storage's CLSID (16 raw bytes), when readable.
  std::optional<std::string> RootClassId() const;

 private:
  struct Impl;
  explicit OleFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::vector<OleEntry> entries_;
  mutable uint64_t bytes_read_ = 0;
};

// Writes a Compound File holding `streams` (name, bytes) at the root, with libgsf's writer, in
// memory. Used to hand decrypted binary documents (a .xls Workbook, a .doc's streams) to the OLE
// analyzer as a child object.
std::string WriteOle(const std::vector<std::pair<std::string, std::string>>& streams);

}  // namespace airlock::scan::office
