#include "scan/unpack/sandboxed_extractor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "core/helper_path.h"
#include "core/unique_fd.h"
#include "process/spawn.h"
#include "scan/file_util.h"
#include "runapi/run_request.h"

namespace airlock::scan {
namespace {

namespace fs = std::filesystem;

bool Executable(const std::string& p) { return !p.empty() && access(p.c_str(), X_OK) == 0; }

// Set once at start-up, before any thread (ExtractInThisSandbox).
bool g_in_place = false;

// Reads regular files under `root` (never following links) into `out`, within the budget.
void ReadBack(const std::string& root, const ExtractBudget& budget, ExtractOutcome& out) {
  std::error_code ec;
  uint64_t total = 0;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    if (out.files.size() >= budget.max_files) {
      out.truncated = true;
      return;
    }
    UniqueFd fd(open(it->path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st{};
    if (!fd || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    std::string data;
    char buf[65536];
    for (;;) {
      ssize_t n = read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (total + static_cast<uint64_t>(n) > budget.max_bytes) {
        out.truncated = true;
        break;
      }
      total += static_cast<uint64_t>(n);
      data.append(buf, static_cast<size_t>(n));
    }
    out.files.emplace_back(fs::relative(it->path(), root, ec).string(), std::move(data));
    if (out.truncated) return;
  }
}

}  // namespace

std::string FindAirlockForScan() { return FindHelper("airlock"); }

std::string FindTool(const char* env_var, const std::vector<std::string>& candidates) {
  if (const char* env = std::getenv(env_var); env != nullptr) return Executable(env) ? env : "";
  for (const auto& c : candidates) {
    if (Executable(c)) return c;
  }
  return "";
}

void ExtractInThisSandbox() { g_in_place = true; }

namespace {

// The tool's run: in a sandbox of its own (/in, /out bound), or, when this scan already runs in one,
// in place on the directories themselves (`ulimit -f`: 512-byte blocks in dash, /bin/sh here).
Result<std::vector<std::string>> ExtractorArgv(const SandboxedExtractor& x, const std::string& airlock, const std::string& in,
                                               const std::string& dst, const ExtractBudget& budget) {
  const std::string fsize_blocks = std::to_string((budget.max_bytes + 1 + 511) / 512);
  std::vector<std::string> command = {"/bin/sh", "-c", g_in_place ? "ulimit -f " + fsize_blocks + "\n" + x.script : x.script, "sh"};
  command.push_back(g_in_place ? in : "/in");
  command.push_back(g_in_place ? dst : "/out");
  command.insert(command.end(), x.tools.begin(), x.tools.end());
  command.push_back(std::to_string(budget.max_bytes));
  command.push_back(std::to_string(budget.max_files));
  if (g_in_place) return command;
  return runapi::RunRequest(airlock)
      .RoBind(in, "/in")
      .Bind(dst, "/out")
      .Timeout(std::to_string(budget.timeout_seconds) + "s")
      .Rlimit("fsize=" + std::to_string(budget.max_bytes + 1))
      .KillOnInterrupt()
      .Command(std::move(command))
      .Argv();
}

}  // namespace

ExtractOutcome RunSandboxedExtractor(const SandboxedExtractor& x, std::string_view archive,
                                     const std::vector<std::string>& passwords, const ExtractBudget& budget) {
  ExtractOutcome out;
  const std::string airlock = g_in_place ? std::string("(in place)") : FindAirlockForScan();
  const bool tools_ok = !x.tools.empty() && std::none_of(x.tools.begin(), x.tools.end(),
                                                         [](const std::string& t) { return t.empty(); });
  if (airlock.empty() || !tools_ok) {
    out.detail = airlock.empty() ? "the airlock binary (sandbox for " + x.tool_label + ") was not found"
                                 : x.missing_detail;
    return out;
  }
  out.status = ExtractOutcome::Status::kFailed;
  ScanTempDir tmp("airlock-extract");
  if (tmp.path().empty()) {
    out.detail = "cannot create a temporary directory";
    return out;
  }
  const std::string in = tmp.path() + "/in", dst = tmp.path() + "/out", file = in + "/" + x.archive_name;
  std::string list;
  for (const auto& pw : passwords) {
    if (pw.find('\n') == std::string::npos && pw.find('\0') == std::string::npos) list += pw + "\n";
  }
  // The tool's sandbox reads and writes these as its host uid (in place, it is us).
  auto hand = [](const std::string& p) { return g_in_place || HandToSandbox(p); };
  if (mkdir(in.c_str(), 0700) != 0 || mkdir(dst.c_str(), 0700) != 0 || !WriteNewFile(file, archive) ||
      !WriteNewFile(in + "/passwords", list) || !hand(in) || !hand(file) || !hand(in + "/passwords") || !hand(dst)) {
    out.detail = "cannot prepare the sandbox's directories";
    return out;
  }
  auto argv = ExtractorArgv(x, airlock, in, dst, budget);
  if (!argv) {
    out.detail = argv.error().What();
    return out;
  }
  // stdin and stderr /dev/null; the script prints only the password's index. The extractor's sandbox
  // never outlives airlock-scan: a Ctrl-C to the process group kills it at once (--on-interrupt kill),
  // and a scan killed otherwise takes its `airlock run`, and with it the sandbox, along (kill_with_caller).
  process::SpawnOptions options;
  options.capture_stderr = false;
  options.kill_with_caller = true;
  options.stdout_cap = 64;
  if (g_in_place) options.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(budget.timeout_seconds);
  auto spawned = process::SpawnAndCapture(*argv, options);
  struct {
    int status;
    std::string out;
  } r{spawned ? spawned->exit_code : -1, spawned ? spawned->out : std::string()};
  if (r.status == 3) {
    out.status = ExtractOutcome::Status::kNoPassword;
    out.detail = "no candidate password worked (" + x.tool_label + " in the sandbox)";
    return out;
  }
  const size_t index = static_cast<size_t>(std::strtoul(r.out.c_str(), nullptr, 10));
  if (index == 0 || index > passwords.size()) {
    out.detail = "the sandboxed " + x.tool_label + " failed (exit " + std::to_string(r.status) + ")";
    return out;
  }
  // Passwords with a newline were not offered; map the index back over the offered ones.
  size_t seen = 0;
  for (const auto& pw : passwords) {
    if (pw.find('\n') != std::string::npos || pw.find('\0') != std::string::npos) continue;
    if (++seen == index) out.password = pw;
  }
  if (r.status == 4) {
    out.status = ExtractOutcome::Status::kTooLarge;
    out.detail = "its listing declares more than " + std::to_string(budget.max_bytes) + " bytes or " +
                 std::to_string(budget.max_files) + " members; not extracted";
    return out;
  }
  out.status = ExtractOutcome::Status::kOpened;
  if (r.status != 0) {
    out.detail = x.tool_label + " stopped early (exit " + std::to_string(r.status) + "): some members may be missing";
  }
  ReadBack(dst, budget, out);
  return out;
}

}  // namespace airlock::scan
