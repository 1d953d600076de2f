#include "scan/detectors/office/vba_project.h"

#include "scan/detectors/office/bytes.h"
#include "scan/detectors/office/ovba_decompress.h"
#include "scan/detectors/office/vba_dir.h"

namespace airlock::scan::office {

VbaExtraction ExtractVba(const OleFile& ole, size_t max_total_bytes) {
  VbaExtraction result;
  size_t total = 0;
  for (const auto& entry : ole.entries()) {
    if (entry.is_storage || !EndsWithIcase(entry.path, "dir")) continue;
    std::string_view path = entry.path;
    if (BaseName(path).size() != 3) continue;
    std::string storage(path.substr(0, path.size() - 3));
    if (!storage.empty()) storage.pop_back();  // the "/"
    if (!(BaseName(storage).size() == 3 && StartsWithIcase(BaseName(storage), "vba"))) continue;
    result.has_vba_storage = true;
    auto raw = ole.ReadStream(entry.path);
    if (!raw) {
      result.problems.push_back(raw.error().What());
      continue;
    }
    auto dir_bytes = DecompressOvba(*raw, 16u << 20);
    if (!dir_bytes) {
      result.problems.push_back(storage + "/dir: " + dir_bytes.error().What());
      continue;
    }
    auto dir = ParseVbaDir(*dir_bytes);
    if (!dir) {
      result.problems.push_back(storage + "/dir: " + dir.error().What());
      continue;
    }
    for (const auto& m : dir->modules) {
      if (total >= max_total_bytes) {
        result.problems.push_back("vba: source budget exhausted");
        return result;
      }
      auto stream = ole.ReadStream(storage + "/" + m.stream_name);
      if (!stream) {
        result.problems.push_back(stream.error().What());
        continue;
      }
      if (m.text_offset > stream->size()) {
        result.problems.push_back("vba: module offset beyond stream: " + m.name);
        continue;
      }
      auto source = DecompressOvba(std::string_view(*stream).substr(m.text_offset), max_total_bytes - total);
      if (!source) {
        result.problems.push_back("vba: module " + m.name + ": " + source.error().What());
        continue;
      }
      total += source->size();
      result.modules.push_back(VbaModule{m.name, storage, std::move(*source)});
    }
  }
  return result;
}

}  // namespace airlock::scan::office
