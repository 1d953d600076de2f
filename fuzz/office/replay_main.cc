// A driver for compilers without libFuzzer (g++): runs LLVMFuzzerTestOneInput once per file named
// on the command line (directories are walked), so the targets double as sanitizer regression
// runners over a corpus: `fuzz_office_rtf_replay /path/to/corpus`.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {
void RunFile(const std::filesystem::path& path, size_t& count) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  ++count;
}
}  // namespace

int main(int argc, char** argv) {
  size_t count = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p)) {
        if (e.is_regular_file()) RunFile(e.path(), count);
      }
    } else {
      RunFile(p, count);
    }
  }
  std::printf("replayed %zu inputs\n", count);
  return 0;
}
