#include "analyze/archive_runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "analyze/runner.h"
#include "core/unique_fd.h"

namespace airlock::analyze {
namespace {

// The first bytes of a regular file, never through a symlink ("" on any failure).
std::string Head(const std::string& path, size_t n) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  std::string buf(n, '\0');
  ssize_t got = ::read(fd.get(), buf.data(), n);
  if (got <= 0) return "";
  buf.resize(static_cast<size_t>(got));
  return buf;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::vector<ArchiveMember> RunnableMembers(const std::string& members_dir, const std::string& in_sandbox, size_t max) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::directory_iterator(members_dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) files.push_back(it->path().filename().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<ArchiveMember> out;
  for (const auto& f : files) {
    if (out.size() >= max) break;
    // Extractor names are "<NNNNNN>-<leaf>"; the leaf (its own name) decides runners by extension.
    size_t dash = f.find('-');
    std::string leaf = dash == std::string::npos ? f : f.substr(dash + 1);
    Runner r = ChooseRunner(Head(members_dir + "/" + f, 4096), leaf, /*browser=*/"", /*driver=*/"", 0);
    if (r.kind != "elf" && r.kind != "shell" && r.kind != "python" && r.kind != "perl") continue;
    if (r.argv.empty()) continue;
    r.argv.back() = in_sandbox + "/" + f;  // the sample path is the last argument of every such runner
    out.push_back({f, leaf, r.kind, r.argv});
  }
  return out;
}

std::string MemberDriverScript(const std::vector<ArchiveMember>& members) {
  std::string s = "#!/bin/sh\n# airlock analyze: the runnable members of the archive, started together\n";
  for (const auto& m : members) {
    std::string cmd;
    for (const auto& a : m.argv) cmd += (cmd.empty() ? "" : " ") + ShellQuote(a);
    s += cmd + " </dev/null &\n";
  }
  s += "wait\n";
  return s;
}

}  // namespace airlock::analyze
