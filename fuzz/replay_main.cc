// A driver for compilers without libFuzzer (g++): runs LLVMFuzzerTestOneInput once per file named
// on the command line (directories are walked, in sorted order), after LLVMFuzzerInitialize when the
// target has one. The default build links it with each engine target (fuzz/replay.cmake) and ctest
// replays the seed corpus (fuzz.replay.<name>); the sanitizer pass and crash reproducers use it too:
// `fuzz_office_rtf_replay /path/to/corpus`. Exits 1 when no input was found (an empty or missing
// corpus must not pass as a replay); a crash or sanitizer report is the test's failure.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {
void RunFile(const std::filesystem::path& path, size_t& count) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  ++count;
}
}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  size_t count = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      std::vector<std::filesystem::path> files;
      for (const auto& e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) RunFile(f, count);
    } else {
      RunFile(p, count);
    }
  }
  std::printf("replayed %zu inputs\n", count);
  return count > 0 ? 0 : 1;
}
