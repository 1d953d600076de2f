#include "scan/extract.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include <fmt/format.h>

namespace airlock::scan {

std::string SanitizeLeaf(std::string_view name) {
  // Basename by either separator.
  size_t slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  std::string out;
  for (char c : name) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '-' || c == '_';
    out.push_back(safe ? c : '_');
    if (out.size() >= 80) break;
  }
  size_t lead = out.find_first_not_of('.');
  out = lead == std::string::npos ? std::string() : out.substr(lead);
  if (out.empty()) out = "object";
  return out;
}

Result<std::unique_ptr<Extractor>> Extractor::Open(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("mkdir " + dir);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoError("open extract directory " + dir);
  return std::unique_ptr<Extractor>(new Extractor(std::move(fd)));
}

Result<std::string> Extractor::Write(std::string_view leaf_name, std::string_view data) {
  uint64_t n = counter_.fetch_add(1) + 1;
  std::string name = fmt::format("{:06}-{}", n, SanitizeLeaf(leaf_name));
  UniqueFd fd(::openat(dir_.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return ErrnoError("create " + name);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::write(fd.get(), data.data() + off, data.size() - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write " + name);
    }
    off += static_cast<size_t>(w);
  }
  return name;
}

}  // namespace airlock::scan
