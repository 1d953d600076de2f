// Fuzzes the archive unpacker with its password search: input = context text, a NUL byte, then the
// archive bytes. Children and findings go to a collecting output with small limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "scan/limits.h"
#include "scan/unpack/archive_unpacker.h"
#include "scan/unpack/passwords.h"

namespace {

class Collect final : public airlock::scan::LimitedOutput {
 public:
  void AddFinding(airlock::scan::Finding f) override { findings += f.id.size(); }
  bool AddChild(std::string name, std::string data) override {
    if (data.size() > RemainingBytes()) return false;
    used += data.size();
    return name.size() < (1u << 20);
  }
  uint64_t RemainingBytes() const override { return used >= kBudget ? 0 : kBudget - used; }
  bool TimeUp() const override { return false; }
  const airlock::scan::ScanLimits& Limits() const override { return limits; }
  void LimitHit(std::string_view, std::string) override {}

  static constexpr uint64_t kBudget = 4u << 20;
  airlock::scan::ScanLimits limits = [] {
    airlock::scan::ScanLimits l;
    l.max_object_bytes = kBudget;
    l.max_total_bytes = kBudget;
    l.ratio_floor_bytes = 64 * 1024;
    return l;
  }();
  uint64_t used = 0;
  size_t findings = 0;
};

}  // namespace

// Encrypted 7z and RAR would go to the sandboxed 7zz / unar (one `airlock run` per input): not while
// fuzzing.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("AIRLOCK_7ZZ", "", 1);
  setenv("AIRLOCK_UNAR", "", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nul = in.find('\0');
  std::string context(nul == std::string_view::npos ? in : in.substr(0, nul));
  std::string_view archive = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);

  auto candidates = airlock::scan::PasswordCandidates({context});
  if (candidates.size() > airlock::scan::kDefaultMaxPasswordCandidates) __builtin_trap();
  for (const auto& c : candidates) {
    if (c.empty() || c.size() > 64) __builtin_trap();
  }

  airlock::scan::Object obj;
  obj.name = "fuzz.zip";
  obj.path = "fuzz.zip";
  obj.data = archive;
  obj.mime = "application/zip";
  obj.context_text = {context};
  Collect out;
  airlock::scan::ArchiveUnpacker unpacker;
  unpacker.Analyze(obj, out);
  return 0;
}
