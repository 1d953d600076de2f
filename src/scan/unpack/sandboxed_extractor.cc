#include "scan/unpack/sandboxed_extractor.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "core/unique_fd.h"

namespace airlock::scan {
namespace {

namespace fs = std::filesystem;

// The sandbox's user outside the namespaces: the caller, or nobody when the caller is root
// (`airlock run --explain`, [identity]). Its files must be readable, /out writable, by that user.
constexpr uid_t kNobody = 65534;

bool Executable(const std::string& p) { return !p.empty() && access(p.c_str(), X_OK) == 0; }

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base == '/' ? base : "/tmp") + "/airlock-extract.XXXXXX";
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);  // never follows symlinks
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool WriteFile(const std::string& path, std::string_view data) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return false;
  while (!data.empty()) {
    ssize_t n = write(fd.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool HandTo(const std::string& path, uid_t uid) {
  if (geteuid() != 0) return true;
  return lchown(path.c_str(), uid, uid) == 0;
}

struct Run {
  int status = -1;  // exit status, 128+N for a signal, -1 when it did not start
  std::string out;
};

// Runs argv (no shell on our side) with stdin /dev/null, stderr discarded, stdout capped.
Run RunCapped(const std::vector<std::string>& argv, size_t cap) {
  Run r;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return r;
  UniqueFd rd(p[0]), wr(p[1]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return r;
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(wr.get(), 1) < 0 || dup2(null, 2) < 0) _exit(126);
    execv(args[0], args.data());
    _exit(127);
  }
  wr.reset();
  char buf[4096];
  for (;;) {
    ssize_t n = read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (r.out.size() < cap) r.out.append(buf, std::min(static_cast<size_t>(n), cap - r.out.size()));
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

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

std::string FindAirlockForScan() {
  if (const char* env = std::getenv("AIRLOCK_BIN"); env != nullptr && Executable(env)) return env;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  self[n] = '\0';
  std::string dir(self);
  dir = dir.substr(0, dir.rfind('/'));
  // build tree: src/scan/airlock-scan -> src/cli/airlock; install: libexec/airlock/ -> bin/
  for (const std::string& c : {dir + "/airlock", dir + "/../cli/airlock", dir + "/../../bin/airlock",
                               dir + "/../bin/airlock", dir + "/../../src/cli/airlock"}) {
    if (Executable(c)) return c;
  }
  return "";
}

std::string FindTool(const char* env_var, const std::vector<std::string>& candidates) {
  if (const char* env = std::getenv(env_var); env != nullptr) return Executable(env) ? env : "";
  for (const auto& c : candidates) {
    if (Executable(c)) return c;
  }
  return "";
}

ExtractOutcome RunSandboxedExtractor(const SandboxedExtractor& x, std::string_view archive,
                                     const std::vector<std::string>& passwords, const ExtractBudget& budget) {
  ExtractOutcome out;
  const std::string airlock = FindAirlockForScan();
  const bool tools_ok = !x.tools.empty() && std::none_of(x.tools.begin(), x.tools.end(),
                                                         [](const std::string& t) { return t.empty(); });
  if (airlock.empty() || !tools_ok) {
    out.detail = airlock.empty() ? "the airlock binary (sandbox for " + x.tool_label + ") was not found"
                                 : x.missing_detail;
    return out;
  }
  out.status = ExtractOutcome::Status::kFailed;
  TempDir tmp;
  if (tmp.path().empty()) {
    out.detail = "cannot create a temporary directory";
    return out;
  }
  const std::string in = tmp.path() + "/in", dst = tmp.path() + "/out", file = in + "/" + x.archive_name;
  std::string list;
  for (const auto& pw : passwords) {
    if (pw.find('\n') == std::string::npos && pw.find('\0') == std::string::npos) list += pw + "\n";
  }
  const uid_t owner = geteuid() == 0 ? kNobody : geteuid();
  if (mkdir(in.c_str(), 0700) != 0 || mkdir(dst.c_str(), 0700) != 0 || !WriteFile(file, archive) ||
      !WriteFile(in + "/passwords", list) || !HandTo(in, owner) || !HandTo(file, owner) ||
      !HandTo(in + "/passwords", owner) || !HandTo(dst, owner)) {
    out.detail = "cannot prepare the sandbox's directories";
    return out;
  }
  std::vector<std::string> argv = {airlock, "run", "--ro-bind", in, "/in", "--bind", dst, "/out", "--timeout",
                                   std::to_string(budget.timeout_seconds) + "s", "--rlimit",
                                   "fsize=" + std::to_string(budget.max_bytes + 1), "--", "/bin/sh", "-c", x.script,
                                   "sh"};
  argv.insert(argv.end(), x.tools.begin(), x.tools.end());
  argv.push_back(std::to_string(budget.max_bytes));
  argv.push_back(std::to_string(budget.max_files));
  Run r = RunCapped(argv, 64);
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
